package dev.shepherd.fleet;

import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.WorkerProcess;
import dev.shepherd.worker.WorkerState;

import java.time.Instant;
import java.util.concurrent.ScheduledFuture;

/**
 * The supervisor's record of one worker: a stable id whose process may be restarted many times.
 * Confined to the supervisor's thread; everybody else sees {@link WorkerSnapshot}s.
 */
final class Worker {

    final int id;
    /** The stable instance number 0..N-1 (see {@link WorkerIndexes}). */
    final int index;
    final long generation;
    final LogBuffer logs;
    final Backoff backoff;

    WorkerState state = WorkerState.STARTING;
    WorkerProcess process;
    Endpoint endpoint;
    int port;
    int restarts;
    long servedBefore;
    WorkerExit lastExit;
    /** Why the master is stopping this process (null: it was not asked to stop, so an exit is a crash). */
    String stopReason;
    /** What an exit of the current process means when the master asked it to stop (null: not asked). */
    ExitCause stopCause;
    /** Stopped on purpose and not to be restarted: scaled down, replaced, shutting down. */
    boolean retiring;
    /** Set on an old worker while its replacement starts: it keeps serving but no longer holds a slot. */
    Worker replacedBy;
    /** Set on a new worker started to replace another one (reload, restart, recycle). */
    Worker replacing;
    /** Whether the current process has been READY at least once, and since when. */
    boolean readyOnce;
    Instant readyAt;
    boolean probing;
    int livenessFailures;
    /** Requests after which the current process is recycled; 0: never. */
    long requestLimit;
    /** The readiness, startup-timeout, drain, kill or restart timer that is pending, if any. */
    ScheduledFuture<?> timer;
    ScheduledFuture<?> startupTimer;
    Instant drainDeadline;
    /** When a draining worker stops waiting for its tunnels (they have all been asked to close by then). */
    Instant tunnelDeadline;

    Worker(int id, int index, long generation, LogBuffer logs, Backoff backoff) {
        this.id = id;
        this.index = index;
        this.generation = generation;
        this.logs = logs;
        this.backoff = backoff;
    }

    void moveTo(WorkerState next) {
        WorkerState.checkTransition(id, state, next);
        state = next;
    }

    boolean holdsSlot() {
        return !retiring && replacedBy == null;
    }

    boolean isCurrent(WorkerProcess candidate) {
        return process == candidate;
    }

    long pid() {
        return process == null ? 0 : process.pid();
    }

    void cancelTimers() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (startupTimer != null) {
            startupTimer.cancel(false);
            startupTimer = null;
        }
    }

    WorkerSnapshot snapshot() {
        boolean running = state.hasProcess() && process != null;
        return new WorkerSnapshot(id, index, running ? process.pid() : 0, running ? port : 0, state, generation, restarts,
                process == null ? null : process.startedAt(), servedBefore, lastExit, stopReason,
                running ? endpoint : null, running ? process : null);
    }
}
