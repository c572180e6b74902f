package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.TestEndpoints;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Where a new tunnel goes ({@link WorkerChoice#fewestTunnels}): fewest open tunnels plus requests in flight. */
class TunnelPlacementTests {

    private final WorkerChoice choice = new WorkerChoice(Balancer.ROUND_ROBIN);
    private final Endpoint first = TestEndpoints.accepting(1, 0, 0);
    private final Endpoint second = TestEndpoints.accepting(2, 1, 0);
    private final Endpoint[] ready = {first, second};

    @Test
    void aBurstOfHandshakesStillInFlightIsSpreadEvenly() {
        // No 101 has come back yet: no worker has an open tunnel, each handshake is a request in flight.
        Map<Endpoint, Integer> placed = new HashMap<>();
        for (int i = 0; i < 100; i++) {
            placed.merge(choice.fewestTunnels(ready), 1, Integer::sum);
        }

        assertThat(placed).containsEntry(first, 50).containsEntry(second, 50);
    }

    @Test
    void aWorkerBusyWithHandshakesGetsTheNextOneOnlyWhenTheOtherIsAsBusy() {
        for (int i = 0; i < 3; i++) {
            assertThat(first.tryAcquire()).isTrue();
        }

        assertThat(choice.fewestTunnels(ready)).isSameAs(second);
        assertThat(choice.fewestTunnels(ready)).isSameAs(second);
        assertThat(choice.fewestTunnels(ready)).isSameAs(second);
        assertThat(second.inFlight()).isEqualTo(3);
    }
}
