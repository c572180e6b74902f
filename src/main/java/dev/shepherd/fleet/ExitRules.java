package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerState;

import java.time.Duration;
import java.time.Instant;

/**
 * What follows an exit, decided from its {@link ExitCause}, the restart policy and the worker's restart history
 * ({@link Backoff}), as a table like Kubernetes' restart policy: a planned stop is forgotten; a replacement that never
 * got READY rolls its replacement back; everything else is restarted when the policy says so ({@code always}: any
 * exit, {@code on-failure}: all but a clean exit, {@code never}: none), after the backoff delay, FAILED when it could
 * not start or crash-loops, BACKOFF otherwise. No state of its own; runs on the supervisor's thread.
 */
final class ExitRules {

    /** What the supervisor does with the worker. */
    enum Outcome {
        /** Remove it from the fleet (a REMOVED event). */
        REMOVE,
        /** A replacement that exited before it took over: the old worker holds its slot again, then remove this one. */
        ROLL_BACK,
        /** Schedule a new process after {@link Reaction#delay()}, in {@link Reaction#state()}. */
        RESTART,
        /** Leave it EXITED: the restart policy does not restart this exit. */
        STAY_EXITED
    }

    /**
     * The decision.
     *
     * @param state the worker's next state
     * @param delay the wait before the restart; zero unless {@code outcome} is RESTART
     * @param crashLoop whether this restart is part of a crash loop (a CRASH_LOOP event)
     */
    record Reaction(Outcome outcome, WorkerState state, Duration delay, boolean crashLoop) {
    }

    private ExitRules() {
    }

    /**
     * Decides after an exit of {@code cause} at {@code at}, of a process that ran {@code uptime} and was READY for
     * {@code readyFor} (null: never). {@code unreadyReplacement}: the worker was started to replace another and has
     * not taken over yet (READY, then handed the slot). Records the exit in {@code history} when it restarts.
     */
    static Reaction decide(ExitCause cause, boolean unreadyReplacement, RestartPolicy policy, Backoff history,
                           Duration uptime, Duration readyFor, Instant at) {
        if (cause == ExitCause.STOPPED || cause == ExitCause.REPLACED) {
            return new Reaction(Outcome.REMOVE, WorkerState.EXITED, Duration.ZERO, false);
        }
        if (unreadyReplacement) {
            return new Reaction(Outcome.ROLL_BACK, WorkerState.EXITED, Duration.ZERO, false);
        }
        if (!restarts(policy, cause)) {
            return new Reaction(Outcome.STAY_EXITED, WorkerState.EXITED, Duration.ZERO, false);
        }
        // A worker ended by the signal an operator sent it (one it does not handle) did not crash on its own: a
        // signal sent to every worker twice in a minute must not make them FAILED as crash-looping.
        Backoff.Decision next = cause == ExitCause.SIGNALLED ? history.notCounted() : history.next(uptime, readyFor, at);
        boolean failed = next.crashLoop() || cause == ExitCause.COULD_NOT_START;
        return new Reaction(Outcome.RESTART, failed ? WorkerState.FAILED : WorkerState.BACKOFF, next.delay(),
                next.crashLoop());
    }

    static boolean restarts(RestartPolicy policy, ExitCause cause) {
        return switch (policy) {
            case ALWAYS -> true;
            case ON_FAILURE -> cause != ExitCause.EXITED_CLEANLY;
            case NEVER -> false;
        };
    }
}
