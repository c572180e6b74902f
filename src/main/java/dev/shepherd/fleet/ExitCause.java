package dev.shepherd.fleet;

/**
 * Why a worker's process ended, as the supervisor classifies it at the reap; {@link ExitRules} decides from it what
 * happens next. The order of {@link #of} is the order of precedence: a planned stop wins over what the process did.
 * Public for {@link WorkerSnapshot#lastExitCause()}, which the health reads to say what the last failure was.
 */
public enum ExitCause {
    /** Stopped on purpose and not to come back: scaled down, or the master is shutting down. */
    STOPPED("stopped"),
    /**
     * The old worker of a surge replacement (rolling reload, admin restart, recycle) after its successor took over,
     * a replaced worker stopped on purpose (retiring, or the master shutting down) before its successor took over, or
     * a replacement that was itself being replaced before it ever took over: the slot passes on.
     */
    REPLACED("replaced"),
    /** Its process could not be started at all (missing program, no permission). */
    COULD_NOT_START("cannot-start"),
    /** Killed because it was not READY within {@code fleet.worker.startup-timeout}. */
    STARTUP_TIMEOUT("startup-timeout"),
    /** Stopped because it failed its liveness probe {@code fleet.liveness.failure-threshold} times: hung. */
    HUNG("liveness"),
    /**
     * Stopped because its resident memory passed twice {@code fleet.worker.max-memory}: it leaked faster than its
     * surge-first replacement got READY (PM2's {@code max_memory_restart} stops it at the limit itself).
     */
    OVER_MEMORY("memory"),
    /** Exited on its own with code 0 ("exited on its own" in the fleet's JSON; not a crash). */
    EXITED_CLEANLY("exited"),
    /** Exited on its own with a non-zero code. */
    CRASHED("crash"),
    /** Ended by a signal the master did not send as a stop (an OOM kill, an admin kill drill, kill -9). */
    KILLED_BY_SIGNAL("crash"),
    /**
     * Ended by the signal an operator had sent it on request, not meant to stop it ({@code POST
     * /fleet/workers/{id}/signal}, {@code shepherd signal}): the program does not handle that signal, whose default
     * action ends a process. Restarted, but not counted as a quick crash: the operator's doing, not a crash loop.
     */
    SIGNALLED("signal");

    /** The {@code reason} tag of {@code shepherd.worker.restarts} when an exit of this cause is restarted. */
    final String metricReason;

    ExitCause(String metricReason) {
        this.metricReason = metricReason;
    }

    /**
     * The cause in one word, as {@code shepherd_worker_restarts_total} tags it: {@code crash} (an exit with a non-zero
     * code, or by a signal the master did not send), {@code signal} (by the signal an operator sent it, not meant to
     * stop it), {@code cannot-start}, {@code startup-timeout}, {@code liveness}, {@code memory}, {@code exited},
     * {@code stopped} or {@code replaced}.
     */
    public String tag() {
        return metricReason;
    }

    /**
     * Whether the worker failed, whatever its exit code: a process that exits 0 on TERM, as most apps do, still failed
     * when the master stopped it for its liveness probe or its memory (found by a new user: the health's
     * {@code lastCrash} left out every such exit of the Python example).
     */
    public boolean failure() {
        return this != STOPPED && this != REPLACED && this != EXITED_CLEANLY;
    }

    /**
     * The cause of an exit with {@code code} of a process the master asked to stop for {@code stopCause} (null: it
     * was not asked), for a worker that {@code planned} to remove ({@code retiring}, or the master shutting down) or
     * that was {@code replaced} (see {@link Exits#reap}: not a worker that exits on its own while its successor
     * starts, which serves until that one takes over); {@code requested}: the signal last sent to it on request, not
     * meant to stop it (null: none).
     */
    static ExitCause of(boolean planned, boolean replaced, ExitCause stopCause, int code, String signal,
                        String requested) {
        if (planned) {
            return replaced ? REPLACED : STOPPED;
        }
        if (replaced) {
            return REPLACED;
        }
        if (stopCause != null) {
            return stopCause;
        }
        if (signal != null && signal.equals(requested)) {
            return SIGNALLED;
        }
        return code == 0 ? EXITED_CLEANLY : signal != null ? KILLED_BY_SIGNAL : CRASHED;
    }
}
