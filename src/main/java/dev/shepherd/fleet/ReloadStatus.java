package dev.shepherd.fleet;

import io.swagger.v3.oas.annotations.media.Schema;

import java.time.Instant;

/**
 * Progress of the latest rolling reload.
 *
 * @param generation the generation the reload brings workers to
 * @param total workers to replace
 * @param replaced workers replaced so far
 * @param reason why it failed, when it did
 * @param problem when a new worker never took over: that worker, its exit and last lines; else null
 * @param rollback what became of a FAILED reload's workers that had taken over: NONE (none had, or the master is
 *                 stopping; also for any other state), RUNNING (being replaced, one at a time, by workers of the spec
 *                 before it; reload and scale are refused with 409 meanwhile), FINISHED (the fleet runs that spec
 *                 again) or STOPPED (a worker of the spec before failed too: the failed generation's workers that
 *                 took over keep serving until the next reload)
 */
public record ReloadStatus(State state, long generation, int total, int replaced, @Schema(nullable = true) Instant startedAt,
                           @Schema(nullable = true) Instant finishedAt, @Schema(nullable = true) String reason,
                           @Schema(nullable = true) ReloadProblem problem, Rollback rollback) {

    public enum State { IDLE, RUNNING, SUCCEEDED, FAILED }

    public enum Rollback { NONE, RUNNING, FINISHED, STOPPED }

    static final ReloadStatus IDLE = new ReloadStatus(State.IDLE, 1, 0, 0, null, null, null, null);

    /** A status with no rollback running. */
    public ReloadStatus(State state, long generation, int total, int replaced, Instant startedAt, Instant finishedAt,
                        String reason, ReloadProblem problem) {
        this(state, generation, total, replaced, startedAt, finishedAt, reason, problem, Rollback.NONE);
    }

    public boolean running() {
        return state == State.RUNNING;
    }

    /** This status with {@code rollback} set. */
    ReloadStatus rollback(Rollback now) {
        return new ReloadStatus(state, generation, total, replaced, startedAt, finishedAt, reason, problem, now);
    }
}
