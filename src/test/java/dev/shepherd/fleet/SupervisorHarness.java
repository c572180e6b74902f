package dev.shepherd.fleet;

import dev.shepherd.fleet.FakeLauncher.FakeProcess;
import dev.shepherd.worker.WorkerState;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** A supervisor with fake processes, fake probes, a manual queue and clock: its whole life with no child process. */
final class SupervisorHarness {

    final ManualQueue queue = new ManualQueue();
    final FakeLauncher launcher = new FakeLauncher(queue.clock);
    final FakeProbe readiness = new FakeProbe();
    final FakeProbe liveness = new FakeProbe();
    final FleetEvents events = new FleetEvents(1000, queue.clock);
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final FleetProperties properties;
    final Supervisor supervisor;

    SupervisorHarness(String... config) {
        Map<String, String> values = new HashMap<>(Map.of("fleet.workers", "2"));
        for (int i = 0; i < config.length; i += 2) {
            values.put(config[i], config[i + 1]);
        }
        properties = new Binder(new MapConfigurationPropertySource(values)).bindOrCreate("fleet", FleetProperties.class);
        supervisor = new Supervisor(properties, queue.clock, queue, launcher, new LaunchSpecs(properties), readiness,
                liveness, events, new FleetMetrics(registry, () -> FleetSnapshot.empty(1, WorkerSpec.configured(properties))), () -> { });
        queue.attach(supervisor);
    }

    /** Starts the fleet and handles what follows at once. */
    SupervisorHarness started() {
        queue.post(new SupervisorEvent.Started());
        queue.drain();
        return this;
    }

    FleetSnapshot snapshot() {
        return supervisor.snapshot(0);
    }

    WorkerSnapshot worker(int id) {
        return snapshot().workers().stream().filter(worker -> worker.id() == id).findFirst()
                .orElseThrow(() -> new AssertionError("no worker " + id + " in " + snapshot().workers()));
    }

    List<WorkerState> states() {
        return snapshot().workers().stream().map(WorkerSnapshot::state).toList();
    }

    FakeProcess process(int workerId) {
        return launcher.latest(workerId);
    }

    List<FleetEvent.Type> eventTypes() {
        return events.recent().stream().map(FleetEvent::type).toList();
    }

    List<FleetEvent.Type> eventTypesOf(int workerId) {
        return events.recent().stream().filter(event -> event.workerId() == workerId).map(FleetEvent::type).toList();
    }

    /** Posts an admin command, handles it and returns its reply. */
    <T> CompletableFuture<T> command(SupervisorEvent.Command<T> command) {
        queue.post(command);
        queue.drain();
        return command.reply();
    }

    void round(SupervisorEvent.Round round) {
        queue.post(new SupervisorEvent.RoundDue(round));
        queue.drain();
    }

    double restarts(String reason) {
        var counter = registry.find("shepherd.worker.restarts").tag("reason", reason).counter();
        return counter == null ? 0 : counter.count();
    }
}
