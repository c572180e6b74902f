package dev.shepherd.fleet;

import java.nio.file.Path;
import java.time.Instant;

/**
 * What {@code fleet.state-file} keeps across master restarts: the desired worker count and the current
 * generation's {@link WorkerSpec}, as set through the admin API, and when they were saved (null for a state not
 * saved yet, or a file written by hand without it). Immutable.
 */
record SavedState(int desired, WorkerSpec spec, Instant savedAt) {

    /**
     * A spec that runs in the master's directory (null) runs in that directory made absolute: null would mean the
     * directory of the next master, which may be started from elsewhere, where the README's relative commands are
     * not found (found by a new user's attack: every restored worker crash-looped; {@code pm2 save} records each
     * app's {@code pm_cwd} the same way).
     */
    SavedState {
        if (spec.workingDirectory() == null) {
            spec = new WorkerSpec(spec.command(), spec.environment(), Path.of("").toAbsolutePath(), spec.readinessPath());
        }
    }

    /** The desired count and spec of a snapshot, not saved yet. */
    static SavedState of(FleetSnapshot snapshot) {
        return new SavedState(snapshot.desired(), snapshot.spec(), null);
    }

    /** The same desired count and spec, whenever they were saved. */
    boolean sameAs(SavedState other) {
        return other != null && desired == other.desired && spec.equals(other.spec);
    }

    /**
     * The configuration with this state in place of {@code fleet.workers}, {@code fleet.worker.command},
     * {@code fleet.worker.environment}, {@code fleet.worker.working-directory} and {@code fleet.readiness.path}, so
     * that everything built from it (the supervisor's desired count and spec, the first snapshot, the launch of
     * each worker, the readiness probe) starts from the saved state.
     */
    FleetProperties over(FleetProperties configured) {
        FleetProperties.Worker worker = configured.worker();
        FleetProperties.Worker restoredWorker = new FleetProperties.Worker(spec.command(), spec.workingDirectory(),
                spec.environment(), worker.startupTimeout(), worker.drainTimeout(), worker.killTimeout(),
                worker.stopSignal(), worker.logLines(), worker.logBytes(), worker.logLineLength(),
                worker.logRateLimitInterval(), worker.logRateLimitBurst(), worker.outputMaxRate(), worker.retiredLogs(),
                worker.maxMemory(), worker.maxRequests(), worker.maxRequestsJitter(), worker.recycleCheckInterval(),
                worker.useCgroups(), worker.treeScanInterval(), worker.maxConcurrency(), worker.nodeAppInstance(),
                worker.logDirectory(), worker.logFileMaxSize(), worker.logFileMaxFiles(), worker.allowUsr1());
        FleetProperties.Probe readiness = configured.readiness();
        FleetProperties.Probe restoredReadiness = new FleetProperties.Probe(spec.readinessPath(), readiness.interval(),
                readiness.timeout(), readiness.status(), readiness.portOwnerCheck());
        return new FleetProperties(desired, configured.maxWorkers(), configured.stateFile(), restoredWorker,
                restoredReadiness, configured.liveness(), configured.restart(), configured.proxy(), configured.demo(),
                configured.admin(), configured.health());
    }
}
