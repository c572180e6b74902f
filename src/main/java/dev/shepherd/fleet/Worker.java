package dev.shepherd.fleet;

import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.WorkerState;

import java.time.Instant;

/**
 * The supervisor's record of one worker: a stable id whose process may be restarted many times.
 * Confined to the supervisor's thread; everybody else sees {@link WorkerSnapshot}s.
 *
 * <p>Its state and its pending timers change only through {@link #moveTo}, the one transition gateway
 * (resilience4j's {@code stateTransition}): it checks the transition against {@link WorkerState}'s table, cancels the
 * timers of the state left, puts the endpoint in or out of the proxy's rotation and records the event.
 */
final class Worker {

    final int id;
    /** The stable instance number 0..N-1 (see {@link WorkerIndexes}). */
    final int index;
    final long generation;
    final LogBuffer logs;
    final Backoff backoff;

    private final FleetEvents events;
    private WorkerState state = WorkerState.STARTING;
    ChildProcess process;
    Endpoint endpoint;
    int port;
    int restarts;
    long requestsBefore;
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
    /** The readiness, drain, kill or restart timer that is pending, if any; it belongs to the current state. */
    private SupervisorQueue.Scheduled timer;
    /** The startup timeout of a STARTING worker, pending beside its readiness retries. */
    private SupervisorQueue.Scheduled startupTimer;
    Instant drainDeadline;
    /** When a draining worker stops waiting for its tunnels (they have all been asked to close by then). */
    Instant tunnelDeadline;

    Worker(int id, int index, long generation, LogBuffer logs, Backoff backoff, FleetEvents events) {
        this.events = events;
        this.id = id;
        this.index = index;
        this.generation = generation;
        this.logs = logs;
        this.backoff = backoff;
    }

    WorkerState state() {
        return state;
    }

    /**
     * The one way to change the state: checks that {@code next} may follow the current state (else
     * {@link dev.shepherd.worker.IllegalWorkerTransitionException} naming the worker, from and to), cancels the timers of
     * the state left, puts the endpoint in rotation when {@code next} is READY and out of it otherwise, and records
     * {@code event} with {@code message} (none when {@code event} is null).
     */
    void moveTo(WorkerState next, FleetEvent.Type event, String message) {
        WorkerState.checkTransition(id, state, next);
        cancelTimers();
        state = next;
        if (endpoint != null) {
            if (next == WorkerState.READY) {
                endpoint.startAccepting();
            } else if (next == WorkerState.DRAINING) {
                // Out of rotation; its sticky sessions' requests still come until the drain ends.
                endpoint.startDraining();
            } else {
                endpoint.stopAccepting();
            }
        }
        if (event != null) {
            events.add(event, id, pid(), message);
        }
    }

    /**
     * Puts a READY worker that the proxy took out of rotation back in (a probe passed): the only change of the rotation
     * besides {@link #moveTo} and the proxy's own ejections, which reach the supervisor as events.
     *
     * @return whether it was out and is back
     */
    boolean readmit() {
        if (state != WorkerState.READY || endpoint.isAccepting()) {
            return false;
        }
        endpoint.startAccepting();
        return true;
    }

    /** {@link #moveTo(WorkerState, FleetEvent.Type, String)} with no event of its own. */
    void moveTo(WorkerState next) {
        moveTo(next, null, null);
    }

    /** Arms the timer of the current state (replacing any); {@link #moveTo} cancels it. */
    void arm(SupervisorQueue.Scheduled next) {
        if (timer != null) {
            timer.cancel();
        }
        timer = next;
    }

    /** Arms the startup timeout of a STARTING worker; {@link #moveTo} cancels it. */
    void armStartupTimeout(SupervisorQueue.Scheduled next) {
        startupTimer = next;
    }

    boolean holdsSlot() {
        return !retiring && replacedBy == null;
    }

    boolean isCurrent(ChildProcess candidate) {
        return process == candidate;
    }

    long pid() {
        return process == null ? 0 : process.pid();
    }

    private void cancelTimers() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        if (startupTimer != null) {
            startupTimer.cancel();
            startupTimer = null;
        }
    }

    WorkerSnapshot snapshot() {
        boolean running = state.hasProcess() && process != null;
        return new WorkerSnapshot(id, index, running ? process.pid() : 0, running ? port : 0, state, generation, restarts,
                process == null ? null : process.startedAt(), requestsBefore, lastExit, stopReason,
                running ? endpoint : null, running ? process : null);
    }
}
