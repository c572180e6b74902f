package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.function.Supplier;

/** The fleet's meters, all named {@code shepherd.*}. */
final class FleetMetrics {

    private final MeterRegistry registry;
    private final Timer startup;

    FleetMetrics(MeterRegistry registry, Supplier<FleetSnapshot> snapshot) {
        this.registry = registry;
        this.startup = Timer.builder("shepherd.worker.startup")
                .description("Time from spawn to READY").register(registry);
        for (WorkerState state : WorkerState.values()) {
            Gauge.builder("shepherd.workers", () -> snapshot.get().count(state))
                    .description("Workers by state").tag("state", state.name()).register(registry);
        }
        Gauge.builder("shepherd.workers.desired", () -> snapshot.get().desired())
                .description("Workers the fleet keeps running").register(registry);
        Gauge.builder("shepherd.proxy.in.flight", () -> snapshot.get().inFlight())
                .description("Requests being served by the workers now").register(registry);
    }

    void recordStartup(Duration duration) {
        startup.record(duration);
    }

    void countRestart(String reason) {
        Counter.builder("shepherd.worker.restarts").description("Restarts of workers that exited without being asked")
                .tag("reason", reason).register(registry).increment();
    }
}
