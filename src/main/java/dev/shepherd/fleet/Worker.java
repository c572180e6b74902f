package dev.shepherd.fleet;

import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.WorkerState;
import lombok.AccessLevel;
import lombok.Getter;
import lombok.experimental.Accessors;

import java.time.Instant;

/**
 * The supervisor's record of one worker: a stable id whose process may be restarted many times.
 * Confined to the supervisor's thread; everybody else sees {@link WorkerSnapshot}s.
 *
 * <p>Its state and its pending timers change only through {@link #moveTo}, the one transition gateway
 * (resilience4j's {@code stateTransition}): it checks the transition against {@link WorkerState}'s table, cancels the
 * timers of the state left, puts the endpoint in or out of the proxy's rotation and records the event. Its other
 * fields are private too, read through fluent getters and changed by methods named for what happened.
 */
@Accessors(fluent = true)
final class Worker {

    final int id;
    /** The stable instance number 0..N-1 (see {@link WorkerIndexes}). */
    final int index;
    final long generation;
    /** What its generation runs; a crash restart runs it again, whatever the current generation runs by then. */
    final WorkerSpec spec;
    final LogBuffer logs;
    final Backoff backoff;

    private final FleetEvents events;
    private WorkerState state = WorkerState.STARTING;
    @Getter(AccessLevel.PACKAGE)
    private ChildProcess process;
    @Getter(AccessLevel.PACKAGE)
    private Endpoint endpoint;
    @Getter(AccessLevel.PACKAGE)
    private int port;
    @Getter(AccessLevel.PACKAGE)
    private int restarts;
    /** What the current process's latest failed readiness probe saw while it was STARTING; null: none failed. */
    @Getter(AccessLevel.PACKAGE)
    private String lastReadinessFailure;
    /** Why that probe was refused, where the process's tree listens ({@link ListenHint#clause}); null: not told. */
    @Getter(AccessLevel.PACKAGE)
    private String readinessHint;
    /** Whether the master's log has told a {@link ListenHint} of the current process (once per process). */
    private boolean listenHintLogged;
    private long requestsBefore;
    @Getter(AccessLevel.PACKAGE)
    private WorkerExit lastExit;
    /** What {@link #lastExit} meant, as the supervisor classified it; null while there is none. */
    private ExitCause lastExitCause;
    /** Why the master is stopping this process (null: it was not asked to stop, so an exit is a crash). */
    @Getter(AccessLevel.PACKAGE)
    private String stopReason;
    /** What an exit of the current process means when the master asked it to stop (null: not asked). */
    @Getter(AccessLevel.PACKAGE)
    private ExitCause stopCause;
    /**
     * The last signal sent to the current process on request that is not meant to stop it (HUP, USR2, ...), and
     * when; null: none. An exit by that signal is told as the signal's ({@link ExitCause#SIGNALLED}).
     */
    @Getter(AccessLevel.PACKAGE)
    private String requestedSignal;
    @Getter(AccessLevel.PACKAGE)
    private Instant requestedSignalAt;
    /** Stopped on purpose and not to be restarted: scaled down, replaced, shutting down. */
    @Getter(AccessLevel.PACKAGE)
    private boolean retiring;
    /** Set on an old worker while its replacement starts: it keeps serving but no longer holds a slot. */
    @Getter(AccessLevel.PACKAGE)
    private Worker replacedBy;
    /** Set on a new worker started to replace another one (reload, restart, recycle). */
    @Getter(AccessLevel.PACKAGE)
    private Worker replacing;
    /** Whether the current process has been READY at least once, and since when. */
    @Getter(AccessLevel.PACKAGE)
    private boolean readyOnce;
    @Getter(AccessLevel.PACKAGE)
    private Instant readyAt;
    @Getter(AccessLevel.PACKAGE)
    private boolean probing;
    @Getter(AccessLevel.PACKAGE)
    private int livenessFailures;
    /** Liveness probes started for the current process ({@link #portOwnerCheckDue}). */
    private int livenessProbes;
    /** {@link Endpoint#answersNot5xx()} when the last liveness probe's outcome came. */
    private long answeredAtLastProbe;
    /** Out of rotation as an outlier until its ejection timer; no probe brings it back before. */
    @Getter(AccessLevel.PACKAGE)
    private boolean outlierEjected;
    /** How many times the current process was ejected as an outlier: the next ejection lasts one more base time. */
    @Getter(AccessLevel.PACKAGE)
    private int outlierEjections;
    /** How many runs of failures of the current process were not ejected (the limits): its log lines thin out. */
    private int outlierNotEjected;
    /** Requests after which the current process is recycled; 0: never. */
    @Getter(AccessLevel.PACKAGE)
    private long requestLimit;
    /** The readiness, drain, kill or restart timer that is pending, if any; it belongs to the current state. */
    private SupervisorQueue.Scheduled timer;
    /** When the armed restart of a BACKOFF or FAILED worker is due; null when none is armed. */
    private Instant restartAt;
    /** The startup timeout of a STARTING worker, pending beside its readiness retries. */
    private SupervisorQueue.Scheduled startupTimer;
    @Getter(AccessLevel.PACKAGE)
    private Instant drainDeadline;
    /** When a draining worker stops waiting for its tunnels (they have all been asked to close by then). */
    @Getter(AccessLevel.PACKAGE)
    private Instant tunnelDeadline;

    Worker(int id, int index, long generation, WorkerSpec spec, LogBuffer logs, Backoff backoff, FleetEvents events) {
        this.events = events;
        this.id = id;
        this.index = index;
        this.generation = generation;
        this.spec = spec;
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
        if (state != WorkerState.READY || endpoint.isAccepting() || outlierEjected) {
            return false;
        }
        endpoint.startAccepting();
        return true;
    }

    /** Ejected as an outlier, for the {@link #outlierEjections()}-th time, until {@link #ejectionOver()}. */
    void ejectedAsOutlier() {
        outlierEjected = true;
        outlierEjections++;
        endpoint.outlierJudged(true);
    }

    /** A run of failures was judged and not ejected; returns how many times for this process. */
    int outlierNotEjected() {
        return ++outlierNotEjected;
    }

    /** The ejection's time is over: back in rotation if READY; returns whether it is back. */
    boolean ejectionOver() {
        if (!outlierEjected) {
            return false;
        }
        outlierEjected = false;
        return readmit();
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

    /** Arms the restart of a BACKOFF or FAILED worker, due {@code at}; {@link #moveTo} cancels it. */
    void armRestart(SupervisorQueue.Scheduled next, Instant at) {
        arm(next);
        restartAt = at;
    }

    /** Arms the startup timeout of a STARTING worker; {@link #moveTo} cancels it. */
    void armStartupTimeout(SupervisorQueue.Scheduled next) {
        startupTimer = next;
    }

    // The changes besides the state, each named for what happened; the supervisor's thread.

    /** A new process runs for this worker: what the previous one left (stop reason, readiness, probe failures) is reset. */
    void started(ChildProcess process, int port, Endpoint endpoint, long requestLimit) {
        this.process = process;
        this.port = port;
        this.endpoint = endpoint;
        this.requestLimit = requestLimit;
        stopReason = null;
        stopCause = null;
        requestedSignal = null;
        requestedSignalAt = null;
        readyOnce = false;
        livenessFailures = 0;
        livenessProbes = 0;
        answeredAtLastProbe = 0;
        lastReadinessFailure = null;
        readinessHint = null;
        listenHintLogged = false;
        outlierEjected = false;
        outlierEjections = 0;
        outlierNotEjected = 0;
    }

    /**
     * The program could not be started: no process, and {@code exit} (pid 0) says why. Nothing of the previous
     * process is left to count: a start that failed after a READY life is a quick crash like any other, not an
     * exit of a process that ran.
     */
    void couldNotStart(WorkerExit exit) {
        process = null;
        readyOnce = false;
        lastExit = exit;
        lastExitCause = ExitCause.COULD_NOT_START;
    }

    /** The readiness probe passed for the first time since the process started. */
    void becameReady(Instant at) {
        readyOnce = true;
        readyAt = at;
    }

    /**
     * The current process ended as {@code exit}, which means {@code cause}: its requests are kept in the count, no
     * probe is outstanding.
     */
    void exited(WorkerExit exit, ExitCause cause) {
        probing = false;
        requestsBefore += endpoint.requests();
        lastExit = exit;
        lastExitCause = cause;
    }

    /** Its last exit, with the last lines read once its output ended ({@link Exits#outputRead}). */
    void lastLinesRead(WorkerExit exit) {
        lastExit = exit;
    }

    /** A new process starts after a crash (counted as Kubernetes counts {@code restartCount}). */
    void restarting() {
        restarts++;
    }

    /** Taken out for good: scaled down, replaced or shutting down; it holds no slot from now on. */
    void retire() {
        retiring = true;
    }

    /** Why the master stops the process, unless it already said; an exit then means {@code cause}. */
    void stopping(String reason, ExitCause cause) {
        stopReason = reason;
        stopCause = cause;
    }

    /** {@code signal}, not meant to stop it, was sent to the current process on request at {@code at}. */
    void signalRequested(String signal, Instant at) {
        requestedSignal = signal;
        requestedSignalAt = at;
    }

    /** Keeps the first reason a stop was asked for. */
    void alsoAskedToStop(String reason) {
        if (stopReason == null) {
            stopReason = reason;
        }
    }

    /** Drains until {@code requestsBy} for its requests and {@code tunnelsBy} for its tunnels. */
    void draining(String reason, Instant requestsBy, Instant tunnelsBy) {
        stopReason = reason;
        drainDeadline = requestsBy;
        tunnelDeadline = tunnelsBy;
    }

    /** A readiness probe of the STARTING process failed: {@code detail}, and why, where it listens ({@code hint}, or null). */
    void readinessFailed(String detail, String hint) {
        lastReadinessFailure = detail;
        readinessHint = hint;
    }

    /** Whether no {@link ListenHint} of the current process was logged yet; true once per process. */
    boolean firstListenHintLog() {
        boolean first = !listenHintLogged;
        listenHintLogged = true;
        return first;
    }

    /** A liveness probe is on its way (one at a time), or its answer came. */
    void probing(boolean outstanding) {
        probing = outstanding;
    }

    /** A liveness probe passed: the failures in a row start again from zero. */
    void livenessPassed() {
        livenessFailures = 0;
        answeredSinceLastProbe();
    }

    /** A liveness probe failed; returns the failures in a row. */
    int livenessFailed() {
        return ++livenessFailures;
    }

    /**
     * Whether the liveness probe now starting also looks who listens on the port: the first after READY, then every
     * {@link #PORT_OWNER_EVERY}th, as it reads /proc/net/tcp, as long as the machine has sockets.
     */
    boolean portOwnerCheckDue() {
        return livenessProbes++ % PORT_OWNER_EVERY == 0;
    }

    /** Liveness probes between two looks at who listens on the port (30 s with the default 5 s interval). */
    static final int PORT_OWNER_EVERY = 6;

    /**
     * Requests the current process answered through the proxy since the last liveness probe's outcome, with a status
     * below 500 (a worker that answers only 500s is as good as hung).
     */
    long answeredSinceLastProbe() {
        long answered = endpoint.answersNot5xx();
        long since = answered - answeredAtLastProbe;
        answeredAtLastProbe = answered;
        return since;
    }

    /** {@code fresh} starts to take over from {@code old}, which serves until {@code fresh} is READY. */
    static void replaces(Worker fresh, Worker old) {
        fresh.replacing = old;
        old.replacedBy = fresh;
    }

    /** This worker took over; the one it replaced is no longer its business. */
    void tookOver() {
        replacing = null;
    }

    /** This replacement left before it took over: the worker it was replacing holds its slot again. */
    void replacementFailed() {
        if (replacing != null) {
            replacing.replacedBy = null;
        }
        replacing = null;
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
        restartAt = null;
        if (startupTimer != null) {
            startupTimer.cancel();
            startupTimer = null;
        }
    }

    WorkerSnapshot snapshot() {
        boolean running = state.hasProcess() && process != null;
        // A STARTING worker's reason is what its readiness probe last saw: a new user's status said DOWN for a minute
        // of 404s while only the master's log said why.
        String reason = state == WorkerState.STARTING && lastReadinessFailure != null
                ? "readiness probe: " + lastReadinessFailure
                + (HealthChecks.pathNotServed(lastReadinessFailure) ? HealthChecks.PATH_HINT : "")
                + (readinessHint == null ? "" : readinessHint) : stopReason;
        return new WorkerSnapshot(id, index, running ? process.pid() : 0, running ? port : 0, state, generation, restarts,
                process == null ? null : process.startedAt(), requestsBefore, lastExit, lastExitCause, reason,
                running ? endpoint : null, running ? process : null, restartAt);
    }
}
