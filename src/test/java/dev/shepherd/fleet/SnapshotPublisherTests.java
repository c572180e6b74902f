package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class SnapshotPublisherTests {

    @Test
    void publishesOnlyWhenTheFleetChanged() {
        SupervisorHarness fleet = new SupervisorHarness("fleet.workers", "1").started();
        SnapshotPublisher publisher = new SnapshotPublisher(1, new WorkerSpec(java.util.List.of(), java.util.Map.of(), null, "/health"));
        List<FleetSnapshot> published = new ArrayList<>();
        publisher.addListener(published::add);

        publisher.reconcileAndPublish(fleet.supervisor);
        publisher.reconcileAndPublish(fleet.supervisor);

        assertThat(published).hasSize(1);
        assertThat(publisher.current().version()).isEqualTo(1);

        fleet.process(1).exit(1);
        fleet.queue.drain();
        publisher.reconcileAndPublish(fleet.supervisor);

        assertThat(published).hasSize(2);
        assertThat(publisher.current().version()).isEqualTo(2);
        assertThat(publisher.current().inRotation()).isZero();
    }

    @Test
    void listenerThatFailsDoesNotStopTheOthers() {
        SupervisorHarness fleet = new SupervisorHarness("fleet.workers", "1").started();
        SnapshotPublisher publisher = new SnapshotPublisher(1, new WorkerSpec(java.util.List.of(), java.util.Map.of(), null, "/health"));
        List<FleetSnapshot> published = new ArrayList<>();
        publisher.addListener(snapshot -> {
            throw new IllegalStateException("listener bug");
        });
        publisher.addListener(published::add);

        publisher.reconcileAndPublish(fleet.supervisor);
        fleet.queue.advance(Duration.ofMillis(1));

        assertThat(published).hasSize(1);
    }

    /**
     * What {@code shepherd reload --wait} and a script's POST-then-GET rely on: whoever saw an event or got a command's
     * answer and reads the fleet reads their effect.
     */
    @Test
    void eventsAreSeenAndCommandsAnsweredOnlyAfterTheSnapshotThatShowsTheirEffect() {
        SupervisorHarness fleet = new SupervisorHarness("fleet.workers", "1").started();
        SnapshotPublisher publisher = new SnapshotPublisher(1, new WorkerSpec(java.util.List.of(), java.util.Map.of(), null, "/health"));
        publisher.reconcileAndPublish(fleet.supervisor);
        List<String> seen = new ArrayList<>();
        fleet.events.subscribe(event -> seen.add(event.type() + " with " + publisher.current().workers().size() + " workers"));
        CompletableFuture<Integer> reply = new CompletableFuture<>();
        reply.thenRun(() -> seen.add("answered with " + publisher.current().desired() + " desired"));

        fleet.supervisor.handle(new SupervisorEvent.Scale(2, reply));
        assertThat(seen).isEmpty();
        publisher.reconcileAndPublish(fleet.supervisor);

        assertThat(seen).containsExactly("SCALED with 2 workers", "SPAWNED with 2 workers", "answered with 2 desired");
    }
}
