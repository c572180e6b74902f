package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.Timer;
import dev.shepherd.fleet.SupervisorEvent.TimerFired;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.LogBuffer.Stream;
import dev.shepherd.worker.WorkerExit;
import lombok.extern.slf4j.Slf4j;

import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * What happens when a process ends: the exit is recorded (code, signal, uptime, reason, last lines), classified as an
 * {@link ExitCause}, and {@link ExitRules} decides whether the worker is forgotten, rolled back, restarted after a
 * backoff or left EXITED. Runs on the supervisor's thread.
 */
@Slf4j
final class Exits {

    /** An exit keeps the last lines of its process: at most this many, and at most {@link #LAST_LINES_BYTES}. */
    private static final int LAST_LINES = 20;
    private static final int LAST_LINES_BYTES = 16 * 1024;
    /**
     * The error line is looked for in this many of the last lines, at most {@link #ERROR_LINE_BYTES}: a Java stack
     * trace of 60 frames pushed the exception out of the last 20.
     */
    private static final int ERROR_LINE_WINDOW = 200;
    private static final int ERROR_LINE_BYTES = 64 * 1024;

    private final FleetProperties properties;
    private final Clock clock;
    private final SupervisorQueue loop;
    private final FleetEvents events;
    private final FleetMetrics metrics;
    private final Supervisor supervisor;

    Exits(FleetProperties properties, Clock clock, SupervisorQueue loop, FleetEvents events, FleetMetrics metrics,
          Supervisor supervisor) {
        this.properties = properties;
        this.clock = clock;
        this.loop = loop;
        this.events = events;
        this.metrics = metrics;
        this.supervisor = supervisor;
    }

    /** The program could not be started at all: recorded as an exit of pid 0 that never ran. */
    void couldNotStart(Worker worker, String why) {
        worker.couldNotStart(new WorkerExit(0, -1, null, clock.instant(), Duration.ZERO, "cannot start: " + why, List.of()));
        events.add(Type.SPAWN_FAILED, worker.id, 0, "worker " + worker.id + " cannot start: " + why);
        log.warn("Worker {} cannot start: {}", worker.id, why);
        afterExit(worker, worker.lastExit(), ExitCause.COULD_NOT_START);
    }

    /**
     * A process ended, leaving {@code survivors} running ({@link LeftRunning#of}): record how, then restart, replace or
     * remove the worker.
     */
    void reap(Worker worker, ChildProcess process, int code, List<String> survivors) {
        Duration uptime = Duration.between(process.startedAt(), clock.instant());
        String reason = worker.stopReason() != null ? worker.stopReason()
                : ownReason(worker, code) + LeftRunning.clause(survivors);
        Tail tail = Tail.of(worker.logs, process.pid(), code);
        WorkerExit exit = new WorkerExit(process.pid(), code, WorkerExit.signalOf(code), clock.instant(), uptime, reason,
                tail.lines(), tail.errorLine());
        boolean planned = worker.retiring() || supervisor.shuttingDown;
        // A worker whose successor is still starting serves until the successor takes over, which it may never do:
        // its own exit is a crash like any other, restarted on its own spec (retired once the successor takes over). Taken for a replaced worker's,
        // it removed the worker, and a successor that never got READY left the slot empty (a one-worker fleet served
        // nothing for 46 s until a reload's startup timeout rolled it back; found by an attacking helper). Only a
        // replacement replaced before it took over hands the slot on ({@link Supervisor#remove}).
        boolean replaced = worker.replacedBy() != null && (planned || worker.replacing() != null);
        ExitCause cause = ExitCause.of(planned, replaced, worker.stopCause(), code, exit.signal(),
                worker.requestedSignal());
        worker.exited(exit, cause);
        String signal = exit.signal() == null ? "" : " (signal " + exit.signal() + ")";
        String message = "worker " + worker.id + " (pid " + process.pid() + ") exited with code " + code + signal + " after "
                + uptime.toMillis() + " ms: " + reason;
        events.add(Type.PROCESS_EXITED, worker.id, process.pid(), message);
        if (worker.retiring()) {
            log.info("Worker {} (pid {}) exited with code {}{} after {} ms: {}", worker.id, process.pid(), code, signal,
                    uptime.toMillis(), reason);
        } else {
            log.warn("Worker {} (pid {}) exited with code {}{} after {} ms: {}", worker.id, process.pid(), code, signal,
                    uptime.toMillis(), reason);
        }
        afterExit(worker, exit, cause);
    }

    /**
     * Why a process the master did not ask to stop ended: on its own, or a crash; or by the signal an operator sent it
     * ({@code shepherd signal}), which the program does not handle; an exit within {@link #AFTER_SIGNAL} of such a
     * signal says how long after it came (an app that exits on HUP).
     */
    private String ownReason(Worker worker, int code) {
        String requested = worker.requestedSignal();
        String own = code == 0 ? "exited on its own" : "crashed";
        if (requested == null) {
            return own;
        }
        long after = Duration.between(worker.requestedSignalAt(), clock.instant()).toMillis();
        if (requested.equals(WorkerExit.signalOf(code))) {
            return "ended by " + requested + ", sent on request " + after + " ms before: the program does not handle "
                    + requested + ", whose default action ends a process";
        }
        return after <= AFTER_SIGNAL.toMillis() ? own + ", " + after + " ms after " + requested + " was sent on request"
                : own;
    }

    /** How soon after a signal sent on request an exit's reason names it. */
    static final Duration AFTER_SIGNAL = Duration.ofSeconds(10);

    /**
     * An exit's last lines and error line (none for a clean exit): of the process's stderr when its last lines there
     * hold an error report, else of both streams. A stack trace goes to stderr, and the stdout lines written with it,
     * read on another thread (a Python's buffered stdout is even written after its traceback), came after it in the
     * log: they took the last lines' place, and a handled error logged to stdout the error line's. A stderr that holds
     * no error (a deprecation warning at startup) leaves both streams' lines to tell.
     */
    record Tail(List<String> lines, String errorLine) {

        static Tail of(LogBuffer logs, long pid, int code) {
            String error = ReloadProblem.errorLine(logs.tailOf(pid, Stream.STDERR, ERROR_LINE_WINDOW, ERROR_LINE_BYTES));
            Stream from = error != null ? Stream.STDERR : null;
            if (error == null && code != 0) {
                error = ReloadProblem.errorLine(logs.tailOf(pid, null, ERROR_LINE_WINDOW, ERROR_LINE_BYTES));
            }
            return new Tail(logs.tailOf(pid, from, LAST_LINES, LAST_LINES_BYTES), code == 0 ? null : error);
        }
    }

    /**
     * The output of {@code process}, whose exit was recorded before its output was read to the end (it served), has
     * ended, or waited {@link Spawner#OUTPUT_GRACE}: its exit's last lines and error line are read again, while that
     * exit is still the worker's last.
     */
    void outputRead(Worker worker, ChildProcess process) {
        WorkerExit exit = worker.lastExit();
        if (exit == null || exit.pid() != process.pid()) {
            return;
        }
        Tail tail = Tail.of(worker.logs, process.pid(), exit.code());
        if (!tail.lines().equals(exit.lastLines()) || !java.util.Objects.equals(tail.errorLine(), exit.errorLine())) {
            worker.lastLinesRead(new WorkerExit(exit.pid(), exit.code(), exit.signal(), exit.at(), exit.uptime(),
                    exit.reason(), tail.lines(), tail.errorLine()));
        }
    }

    private void afterExit(Worker worker, WorkerExit exit, ExitCause cause) {
        Duration readyFor = worker.readyOnce() ? Duration.between(worker.readyAt(), exit.at()) : null;
        ExitRules.Reaction reaction = ExitRules.decide(cause, worker.replacing() != null,
                properties.restart().policy(), worker.backoff, exit.uptime(), readyFor, exit.at());
        worker.moveTo(reaction.state());
        switch (reaction.outcome()) {
            case REMOVE -> supervisor.remove(worker, exit.reason());
            case ROLL_BACK -> {
                supervisor.reload.onFailed(worker, cause, exit);
                supervisor.remove(worker, exit.reason());
            }
            case RESTART -> {
                if (supervisor.reload.rollingBack(worker.generation)) {
                    // Its generation failed and is being replaced back: restarted, it ran the failed spec once more
                    // (a chaos helper's). Its slot is filled by the rollback's worker, or by the current spec's.
                    supervisor.remove(worker, "its generation " + worker.generation + " failed and is being rolled back");
                } else {
                    scheduleRestart(worker, exit, cause, reaction, readyFor);
                }
            }
            case STAY_EXITED -> log.info("Worker {} stays EXITED: restart policy {}", worker.id, properties.restart().policy());
        }
        if (reaction.outcome() == ExitRules.Outcome.RESTART || reaction.outcome() == ExitRules.Outcome.STAY_EXITED) {
            supervisor.reload.onGenerationExit(worker, cause, exit);
        }
    }

    private void scheduleRestart(Worker worker, WorkerExit exit, ExitCause cause, ExitRules.Reaction reaction,
                                 Duration readyFor) {
        metrics.countRestart(cause.metricReason);
        if (reaction.crashLoop()) {
            events.add(Type.CRASH_LOOP, worker.id, exit.pid(), "worker " + worker.id + " restarted more than "
                    + properties.restart().crashLoopRestarts() + " times in " + properties.restart().crashLoopWindow().toSeconds()
                    + " s: crash loop; next try in " + reaction.delay().toMillis() + " ms");
        }
        events.add(Type.RESTARTING, worker.id, exit.pid(), "worker " + worker.id + " restarts in " + reaction.delay().toMillis() + " ms"
                + (worker.backoff.ranStably(readyFor) ? " (it was READY for " + readyFor.toMillis() + " ms: not a crash loop)" : ""));
        worker.armRestart(loop.schedule(new TimerFired(worker, worker.process(), Timer.RESTART_DUE), reaction.delay()),
                clock.instant().plus(reaction.delay()));
    }
}
