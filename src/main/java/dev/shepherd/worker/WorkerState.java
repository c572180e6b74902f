package dev.shepherd.worker;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The lifecycle of one worker. Every allowed transition is listed in {@link #ALLOWED}; anything else is a bug
 * and {@link #checkTransition} says which worker tried what.
 */
public enum WorkerState {
    /** Spawned; waiting for its readiness probe. Receives no traffic. */
    STARTING,
    /** Passed its readiness probe; in the proxy's rotation. */
    READY,
    /** Out of rotation, waiting for its in-flight requests to finish before it is stopped. */
    DRAINING,
    /** Asked to exit (stop signal sent); killed when it outlives the kill timeout. */
    STOPPING,
    /** Exited without being asked; a restart is scheduled after a backoff delay. */
    BACKOFF,
    /** Crash-looping or unable to start; still retried, at the capped backoff delay. */
    FAILED,
    /** Gone for good: stopped on purpose, or not restarted by the restart policy. */
    EXITED;

    private static final Map<WorkerState, Set<WorkerState>> ALLOWED = Map.of(
            STARTING, EnumSet.of(READY, STOPPING, BACKOFF, FAILED, EXITED),
            READY, EnumSet.of(DRAINING, STOPPING, BACKOFF, FAILED, EXITED),
            DRAINING, EnumSet.of(STOPPING, BACKOFF, FAILED, EXITED),
            STOPPING, EnumSet.of(BACKOFF, FAILED, EXITED),
            BACKOFF, EnumSet.of(STARTING, EXITED),
            FAILED, EnumSet.of(STARTING, EXITED),
            EXITED, EnumSet.noneOf(WorkerState.class));

    public boolean canMoveTo(WorkerState next) {
        return ALLOWED.get(this).contains(next);
    }

    /** Whether a process of this worker may be running. */
    public boolean hasProcess() {
        return this == STARTING || this == READY || this == DRAINING || this == STOPPING;
    }

    public static void checkTransition(int workerId, WorkerState from, WorkerState to) {
        if (!from.canMoveTo(to)) {
            throw new IllegalWorkerTransitionException(workerId, from, to);
        }
    }
}
