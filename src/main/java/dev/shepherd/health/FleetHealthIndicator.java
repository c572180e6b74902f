package dev.shepherd.health;

import dev.shepherd.fleet.ExitCause;
import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.WorkerState;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.stereotype.Component;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code fleet} health component: UP when at least {@code fleet.health.min-ready} workers are READY,
 * DEGRADED when fewer but at least one are, DOWN when none is. Part of the readiness group, not of liveness:
 * a master whose workers are all down is still alive and healing them. Counts the workers in the proxy's rotation
 * ({@link FleetSnapshot#inRotation()}); among the FAILED workers, {@code crashLooping} are those whose last process
 * ran and {@code cannotStart} those whose program could not be started at all.
 */
@Component("fleetHealthIndicator")
class FleetHealthIndicator implements HealthIndicator {

    /** Some workers serve, fewer than {@code fleet.health.min-ready}. Reported with HTTP 200. */
    static final Status DEGRADED = new Status("DEGRADED", "fewer workers in rotation than fleet.health.min-ready");

    private final WorkerFleetService fleet;
    private final int minReady;

    FleetHealthIndicator(WorkerFleetService fleet, FleetProperties properties) {
        this.fleet = fleet;
        this.minReady = properties.health().minReady();
    }

    @Override
    public Health health() {
        FleetSnapshot snapshot = fleet.snapshot();
        int ready = snapshot.inRotation();
        Health.Builder builder = ready >= minReady ? Health.up() : ready > 0 ? Health.status(DEGRADED) : Health.down();
        builder.withDetail("desired", snapshot.desired())
                .withDetail("ready", ready)
                .withDetail("starting", snapshot.count(WorkerState.STARTING))
                .withDetail("crashLooping", failed(snapshot, false))
                .withDetail("cannotStart", failed(snapshot, true))
                .withDetail("minReady", minReady);
        snapshot.workers().stream().filter(worker -> worker.lastExit() != null && (worker.lastExitCause() != null
                        ? worker.lastExitCause().failure() : !worker.lastExit().clean()))
                .max(Comparator.comparing(worker -> worker.lastExit().at()))
                .ifPresent(worker -> builder.withDetail("lastCrash", describe(worker.id(), worker.lastExit(),
                        worker.lastExitCause())));
        return builder.build();
    }

    /** FAILED workers whose last attempt could not start ({@code neverStarted}), or whose last process ran. */
    private static long failed(FleetSnapshot snapshot, boolean neverStarted) {
        return snapshot.workers().stream().filter(worker -> worker.state() == WorkerState.FAILED)
                .filter(worker -> (worker.lastExit() != null && worker.lastExit().pid() == 0) == neverStarted).count();
    }

    /**
     * {@code worker}: the id that {@code shepherd logs} and {@code GET /fleet/workers/{id}/logs} take; {@code cause}
     * says what kind of failure it was, since not every one is a crash: a worker killed for not getting READY within
     * {@code startup-timeout} was reported as the last crash (found by a new user).
     */
    private static Map<String, Object> describe(int worker, WorkerExit exit, ExitCause cause) {
        Map<String, Object> crash = new LinkedHashMap<>();
        crash.put("worker", worker);
        if (cause != null) {
            crash.put("cause", cause.tag());
        }
        crash.put("pid", exit.pid());
        crash.put("code", exit.code());
        if (exit.signal() != null) {
            crash.put("signal", exit.signal());
        }
        crash.put("at", exit.at().toString());
        crash.put("reason", exit.reason());
        if (exit.errorLine() != null) {
            crash.put("errorLine", exit.errorLine());
        }
        return crash;
    }
}
