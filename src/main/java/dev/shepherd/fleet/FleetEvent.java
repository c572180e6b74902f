package dev.shepherd.fleet;

import java.time.Instant;

/**
 * One lifecycle event of the fleet, as the admin API and the live page show it.
 *
 * @param seq increasing number, unique within this master's run
 * @param workerId the worker concerned, or 0 for fleet-wide events
 * @param pid the process concerned, or 0
 */
public record FleetEvent(long seq, Instant at, Type type, int workerId, long pid, String message) {

    public enum Type {
        SPAWNED, SPAWN_FAILED, READY, EJECTED, LIVENESS_FAILED, STARTUP_TIMEOUT, DRAINING, STOPPING, KILLED, EXITED,
        RESTARTING, CRASH_LOOP, RECYCLING, STOPPED, SCALED, RELOAD_STARTED, RELOAD_STEP, RELOAD_SUCCEEDED, RELOAD_FAILED
    }
}
