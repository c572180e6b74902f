package dev.shepherd.fleet;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.time.Instant;

/**
 * One lifecycle event of the fleet, as the admin API and the live page show it.
 *
 * @param seq increasing number, unique within this master's run
 * @param workerId the worker concerned, or 0 for fleet-wide events (left out of the JSON then)
 * @param pid the process concerned, or 0 when there is none (left out of the JSON then)
 */
public record FleetEvent(long seq, Instant at, Type type,
                         @JsonInclude(JsonInclude.Include.NON_DEFAULT) int workerId,
                         @JsonInclude(JsonInclude.Include.NON_DEFAULT) long pid, String message) {

    /**
     * What happened. Named apart from the worker states where they differ in meaning: {@code PROCESS_EXITED} is any
     * end of a worker's process (the message says how; the worker may be restarted), the state {@code EXITED} a
     * worker whose process ended and stays ended; {@code KILL_TIMEOUT} is a worker that outlived
     * {@code fleet.worker.kill-timeout} after its stop signal and got KILL (an admin {@code kill} sends any signal,
     * TERM by default, like kill(1)); {@code REMOVED} is a worker that left the fleet for good; {@code SIGNAL_SENT}
     * is a signal an operator had sent to a worker ({@code kill}, to its processes; {@code signal}, to its own process).
     */
    public enum Type {
        SPAWNED, SPAWN_FAILED, READY, EJECTED, LIVENESS_FAILED, STARTUP_TIMEOUT, DRAINING, STOPPING, KILL_TIMEOUT,
        PROCESS_EXITED, RESTARTING, CRASH_LOOP, RECYCLING, REMOVED, SCALED, RELOAD_STARTED, RELOAD_STEP, RELOAD_SUCCEEDED,
        RELOAD_FAILED, SIGNAL_SENT
    }
}
