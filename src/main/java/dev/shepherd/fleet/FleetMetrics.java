package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerState;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.List;
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
        // Every reason there from the start too: a new user found no restarts series at all before the first crash.
        for (ExitCause cause : ExitCause.values()) {
            if (cause != ExitCause.STOPPED && cause != ExitCause.REPLACED) {
                restarts(cause.tag());
            }
        }
        for (String reason : List.of(RECYCLED_FOR_MEMORY, RECYCLED_FOR_REQUESTS)) {
            recycles(reason);
        }
    }

    /** The {@code reason} tags of {@code shepherd.worker.recycles}. */
    static final String RECYCLED_FOR_MEMORY = "memory";
    static final String RECYCLED_FOR_REQUESTS = "requests";

    private Counter recycles(String reason) {
        return Counter.builder("shepherd.worker.recycles").description("Workers replaced, surge-first, for passing "
                + "fleet.worker.max-memory or fleet.worker.max-requests (PM2's max_memory_restart counts in its restarts)")
                .tag("reason", reason).register(registry);
    }

    /** A worker is recycled for {@code reason}: {@link #RECYCLED_FOR_MEMORY} or {@link #RECYCLED_FOR_REQUESTS}. */
    void countRecycle(String reason) {
        recycles(reason).increment();
    }

    private Counter restarts(String reason) {
        return Counter.builder("shepherd.worker.restarts").description("Restarts of workers that exited without being asked")
                .tag("reason", reason).register(registry);
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
        restarts(reason).increment();
    }
}
