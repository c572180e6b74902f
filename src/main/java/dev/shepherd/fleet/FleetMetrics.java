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
    private final Counter reloadsSucceeded;
    private final Counter reloadsFailed;

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
        // Both outcomes there from the start, at 0, so that an alert on failures has a series before the first one.
        reloadsSucceeded = reloads(registry, "succeeded");
        reloadsFailed = reloads(registry, "failed");
    }

    private static Counter reloads(MeterRegistry registry, String outcome) {
        return Counter.builder("shepherd.reloads").description("Rolling reloads ended, by outcome (a failed one is "
                + "rolled back)").tag("outcome", outcome).register(registry);
    }

    /** A reload ended {@code SUCCEEDED} or {@code FAILED}. */
    void countReload(ReloadStatus.State outcome) {
        (outcome == ReloadStatus.State.SUCCEEDED ? reloadsSucceeded : reloadsFailed).increment();
    }

    void recordStartup(Duration duration) {
        startup.record(duration);
    }

    void countRestart(String reason) {
        Counter.builder("shepherd.worker.restarts").description("Restarts of workers that exited without being asked")
                .tag("reason", reason).register(registry).increment();
    }
}
