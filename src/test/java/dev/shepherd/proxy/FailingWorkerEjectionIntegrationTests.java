package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A worker that passes its probes but hangs up on every request (Envoy's outlier, nginx's {@code max_fails}) leaves
 * the rotation after five failed attempts in a row, instead of being sent every other request for ever; the
 * requests it failed are retried on the other worker, and the fleet's event says why.
 */
class FailingWorkerEjectionIntegrationTests {

    @Test
    void aWorkerThatFailsEveryRequestLeavesTheRotationAndNothingIsLost() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.balancer=round-robin")) {
            for (int i = 0; i < 20; i++) {
                HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(
                        shepherd.proxy("/hang-up?index=0")).timeout(Duration.ofSeconds(10)).build());
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            }
            assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.EJECTED)
                    .extracting(FleetEvent::message).first().asString()
                    .contains("out of rotation until a probe succeeds: it failed 5 requests in a row");
        }
    }
}
