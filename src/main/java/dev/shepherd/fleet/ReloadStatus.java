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
 */
public record ReloadStatus(State state, long generation, int total, int replaced, @Schema(nullable = true) Instant startedAt,
                           @Schema(nullable = true) Instant finishedAt, @Schema(nullable = true) String reason,
                           @Schema(nullable = true) ReloadProblem problem) {

    public enum State { IDLE, RUNNING, SUCCEEDED, FAILED }

    static final ReloadStatus IDLE = new ReloadStatus(State.IDLE, 1, 0, 0, null, null, null, null);

    public boolean running() {
        return state == State.RUNNING;
    }
}
