package dev.shepherd.fleet;

import dev.shepherd.worker.ChildProcess;

import java.util.concurrent.CompletableFuture;

/**
 * Everything the supervisor reacts to, as gunicorn's arbiter has its {@code handle_*} methods: process exits, probe
 * results, timers, the proxy's ejections, the periodic rounds and the admin commands. Posted from any thread to the
 * {@link SupervisorLoop}; handled one at a time by {@link Supervisor#handle}, the only dispatch.
 */
sealed interface SupervisorEvent {

    /**
     * An event about one process of a worker. Stale, and dropped by the dispatch, when the worker runs another process
     * by the time it is handled (its process was restarted since).
     */
    sealed interface AboutProcess extends SupervisorEvent {

        Worker worker();

        /** The process the event is about; null for a worker whose process could not start. */
        ChildProcess process();
    }

    /** Which probe. */
    enum ProbeKind { READINESS, LIVENESS }

    /** What a timer of one worker was set for. */
    enum Timer {
        /** Probe readiness again (after {@code fleet.readiness.interval}). */
        READINESS_RETRY,
        /** See whether a draining worker's requests and tunnels are done. */
        DRAIN_CHECK,
        /** The stop signal was sent {@code fleet.worker.kill-timeout} ago. */
        KILL_TIMEOUT,
        /** The restart backoff is over. */
        RESTART_DUE,
        /** An outlier's ejection is over: back in rotation. */
        EJECTION_OVER
    }

    /** A periodic round over the fleet. */
    enum Round {
        /** Probe the liveness of the serving workers ({@code fleet.liveness.interval}). */
        LIVENESS,
        /** Without cgroups, let each process remember its descendants ({@code fleet.worker.tree-scan-interval}). */
        TREE_SCAN,
        /** Replace workers past their memory or request limit ({@code fleet.worker.recycle-check-interval}). */
        RECYCLE
    }

    /** The process ended with {@code code} (128 + the signal number for a signal; -1 when unknown). */
    record ProcessExited(Worker worker, ChildProcess process, int code) implements AboutProcess {
    }

    /**
     * The exit of a worker that never served waited {@link Spawner#OUTPUT_GRACE} for its output's end: it is handed
     * over now (once: {@code handOver} does nothing when the output ended first).
     */
    record OutputGraceOver(Runnable handOver) implements SupervisorEvent {
    }

    /**
     * The output of a process that served, whose exit was handled at once, has been read to its end (or for
     * {@link Spawner#OUTPUT_GRACE}): its exit's last lines are read again ({@link Exits#outputRead}).
     */
    record ExitOutputRead(Worker worker, ChildProcess process) implements SupervisorEvent {
    }

    record ProbePassed(Worker worker, ChildProcess process, ProbeKind probe) implements AboutProcess {
    }

    /**
     * {@code detail} says what went wrong; {@code inconclusive}: the master could not run the probe (out of file
     * descriptors itself), so it says nothing of the worker; {@code listenHint}: why a refused readiness probe was
     * refused, where the worker's processes listen tells it (null: not told).
     */
    record ProbeFailed(Worker worker, ChildProcess process, ProbeKind probe, String detail, boolean inconclusive,
                       ListenHint listenHint) implements AboutProcess {

        ProbeFailed(Worker worker, ChildProcess process, ProbeKind probe, String detail, boolean inconclusive) {
            this(worker, process, probe, detail, inconclusive, null);
        }
    }

    /** The process was not READY within {@code fleet.worker.startup-timeout}. */
    record StartupTimedOut(Worker worker, ChildProcess process) implements AboutProcess {
    }

    record TimerFired(Worker worker, ChildProcess process, Timer timer) implements AboutProcess {
    }

    /**
     * A reload's or replacement's new worker ({@code successor}) is READY: the worker it replaces leaves the rotation
     * now. An event of its own, after the one that made the successor READY, so that the snapshot with the successor
     * in it is published first: a sticky client of the slot (both share the index) always finds one of the two taking
     * requests, and moves once. Not about one process: it is handled whatever happened to either since (the handler
     * checks), so that a reload always takes its next step.
     */
    record SuccessorReady(Worker worker, Worker successor) implements SupervisorEvent {
    }

    /** The proxy took the worker out of rotation after refused connections. */
    record Ejected(Worker worker, ChildProcess process) implements AboutProcess {
    }

    /** The proxy saw the worker fail {@code fleet.proxy.outlier-detection.consecutive-5xx} answers in a row. */
    record Outlier(Worker worker, ChildProcess process) implements AboutProcess {
    }

    record RoundDue(Round round) implements SupervisorEvent {
    }

    /**
     * More workers are to be started than one pass starts ({@link Supervisor#SPAWNS_PER_PASS}): the next pass, after
     * the events and commands queued meanwhile. Nothing else to do: every event is followed by a reconcile.
     */
    record ReconcileMore() implements SupervisorEvent {
    }

    /** The orphan guard's process ended: it is started again at once, on the supervisor's thread. */
    record GuardExited() implements SupervisorEvent {
    }

    /** The master starts: set up the process trees and the orphan guard, on the supervisor's thread. */
    record Started() implements SupervisorEvent {
    }

    /**
     * The master begins to stop (its context closes; the proxy drains first): a reload stops where it is, and no
     * reload, scale or replace is taken from now on.
     */
    record StopBegun() implements SupervisorEvent {
    }

    /** The master stops: drain and stop every worker; {@code stopped} completes when no process is left. */
    record ShutdownRequested(CompletableFuture<Void> stopped) implements SupervisorEvent {
    }

    /**
     * An admin command; {@code reply} completes with its result, or exceptionally with the {@link FleetExceptions}
     * that says why it was refused.
     */
    sealed interface Command<T> extends SupervisorEvent {

        CompletableFuture<T> reply();
    }

    /** Set the desired number of workers; answers the number before, which is {@code workers} when nothing changed. */
    record Scale(int workers, CompletableFuture<Integer> reply) implements Command<Integer> {
    }

    /**
     * Change the desired number of workers by {@code change} from what it is when the command is handled (a signal's
     * one more or one fewer); answers the number before. Refused when it would go below 1 or above {@code max}.
     */
    record ScaleBy(int change, int max, CompletableFuture<Integer> reply) implements Command<Integer> {
    }

    /** Start a rolling reload to a new generation that runs the current spec with {@code patch} applied. */
    record Reload(WorkerSpecPatch patch, CompletableFuture<ReloadStatus> reply) implements Command<ReloadStatus> {
    }

    /** Start a rolling reload to a new generation that runs the spec the last successful reload replaced. */
    record Undo(CompletableFuture<ReloadStatus> reply) implements Command<ReloadStatus> {
    }

    /** Replace one READY worker, surge-first; the reply is the new worker's id. */
    record Replace(int workerId, CompletableFuture<Integer> reply) implements Command<Integer> {
    }

    /** Send a signal to a worker's process tree, undrained: a crash drill. */
    record Kill(int workerId, String signal, CompletableFuture<Void> reply) implements Command<Void> {
    }

    /**
     * Send a signal that is not meant to stop it (one of {@code SignalNames.REQUESTS}) to the process of worker
     * {@code workerId}, or of every worker that has one ({@code workerId} null); the reply is the ids it was sent to.
     */
    record Signal(Integer workerId, String signal, CompletableFuture<java.util.List<Integer>> reply)
            implements Command<java.util.List<Integer>> {
    }
}
