package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.AboutProcess;
import dev.shepherd.fleet.SupervisorEvent.Command;
import dev.shepherd.fleet.SupervisorEvent.Ejected;
import dev.shepherd.fleet.SupervisorEvent.ProbeFailed;
import dev.shepherd.fleet.SupervisorEvent.ProbePassed;
import dev.shepherd.fleet.SupervisorEvent.ProcessExited;
import dev.shepherd.fleet.SupervisorEvent.RoundDue;
import dev.shepherd.fleet.SupervisorEvent.ShutdownRequested;
import dev.shepherd.fleet.SupervisorEvent.Started;
import dev.shepherd.fleet.SupervisorEvent.StartupTimedOut;
import dev.shepherd.fleet.SupervisorEvent.Timer;
import dev.shepherd.fleet.SupervisorEvent.TimerFired;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Owns the workers: the only code that changes their state, always on the one supervisor thread.
 *
 * <p>Like gunicorn's arbiter: process exits, probe results, timers and admin commands each arrive as a named
 * {@link SupervisorEvent} on that thread and are dispatched by {@link #handle}; after each, {@link WorkerFleetService}
 * reconciles desired and actual workers and publishes a new snapshot. Vocabulary: spawn, ready, drain, stop, kill,
 * reap, restart, scale, replace.
 */
@Slf4j
final class Supervisor {

    /** An exit keeps the last lines of its process: at most this many, and at most {@link #LAST_LINES_BYTES}. */
    private static final int LAST_LINES = 20;
    private static final int LAST_LINES_BYTES = 16 * 1024;
    private static final Duration DRAIN_POLL = Duration.ofMillis(20);

    private final FleetProperties properties;
    private final Clock clock;
    private final SupervisorQueue loop;
    private final LaunchSpecs launchSpecs;
    private final HealthChecks healthChecks;
    private final FleetEvents events;
    private final FleetMetrics metrics;
    private final Recycler recycler;
    private final ProcessLauncher launcher;
    private final WorkerLogs logs;
    private final FleetCommands commands;
    private final Runnable slotFreed;
    final List<Worker> workers = new ArrayList<>();
    final RollingReload reload;
    int desired;
    boolean shuttingDown;
    private int nextId = 1;
    /** Completed when no process is left after a shutdown was asked for. */
    private CompletableFuture<Void> stopped;

    Supervisor(FleetProperties properties, Clock clock, SupervisorQueue loop, ProcessLauncher launcher, LaunchSpecs launchSpecs,
               HealthProbe readiness, HealthProbe liveness, FleetEvents events, FleetMetrics metrics, Runnable slotFreed) {
        this.properties = properties;
        this.clock = clock;
        this.loop = loop;
        this.launchSpecs = launchSpecs;
        this.healthChecks = new HealthChecks(properties, loop, readiness, liveness, events, this);
        this.events = events;
        this.metrics = metrics;
        this.slotFreed = slotFreed;
        this.desired = properties.desiredWorkers();
        this.reload = new RollingReload(this, events, clock);
        this.recycler = new Recycler(properties.worker(), events);
        this.launcher = launcher;
        this.commands = new FleetCommands(this, events);
        this.logs = new WorkerLogs(properties.worker().logLines(), properties.worker().logBytes().toBytes(),
                properties.worker().retiredLogs());
    }

    Optional<LogBuffer> logs(int id) {
        return logs.find(id);
    }

    Optional<Worker> find(int id) {
        return workers.stream().filter(worker -> worker.id == id).findFirst();
    }

    /**
     * The one dispatch: every reaction of the supervisor starts here. An event about a process the worker no longer
     * runs is dropped here, once (but the tree of every process that ended is reaped).
     */
    void handle(SupervisorEvent event) {
        if (event instanceof ProcessExited exited) {
            launcher.reaped(exited.process());
        }
        if (event instanceof AboutProcess about && !about.worker().isCurrent(about.process())) {
            log.debug("Dropped {}: worker {} runs another process now", event.getClass().getSimpleName(), about.worker().id);
            return;
        }
        if (event instanceof ProcessExited exited) {
            reap(exited.worker(), exited.process(), exited.code());
        } else if (event instanceof ProbePassed passed) {
            healthChecks.passed(passed);
        } else if (event instanceof ProbeFailed failed) {
            healthChecks.failed(failed);
        } else if (event instanceof StartupTimedOut timedOut) {
            healthChecks.startupTimedOut(timedOut.worker(), timedOut.process());
        } else if (event instanceof TimerFired fired) {
            timerFired(fired);
        } else if (event instanceof Ejected ejected) {
            healthChecks.ejected(ejected.worker(), ejected.process(), workers);
        } else if (event instanceof RoundDue due) {
            round(due.round());
        } else if (event instanceof Started) {
            // On this thread, which the orphan guard's parent-death signal follows.
            launcher.start();
        } else if (event instanceof ShutdownRequested shutdown) {
            stopped = shutdown.stopped();
            shutdown();
        } else if (event instanceof Command<?> command) {
            commands.execute(command);
        }
        if (stopped != null && !anyProcessLeft()) {
            stopped.complete(null);
        }
    }

    private void timerFired(TimerFired fired) {
        Worker worker = fired.worker();
        switch (fired.timer()) {
            case READINESS_RETRY -> healthChecks.probeReadiness(worker, fired.process());
            case DRAIN_CHECK -> checkDrained(worker, fired.process());
            case KILL_TIMEOUT -> {
                if (fired.process().isAlive()) {
                    events.add(Type.KILLED, worker.id, fired.process().pid(), "worker " + worker.id
                            + " outlived the kill timeout; KILL");
                    fired.process().killTree();
                }
            }
            case RESTART_DUE -> restart(worker);
        }
    }

    private void round(SupervisorEvent.Round round) {
        switch (round) {
            case LIVENESS -> {
                healthChecks.probeLiveness(workers);
                launcher.sweep();
            }
            case TREE_SCAN -> launcher.record(workers.stream()
                    .filter(worker -> worker.state().hasProcess() && worker.process != null).map(worker -> worker.process).toList());
            case RECYCLE -> {
                if (!shuttingDown) {
                    recycler.check(workers, reload);
                }
            }
        }
    }

    void closeOrphanGuard() {
        launcher.close();
    }

    /** Starts or retires workers until the ones holding a slot match the desired count. */
    void reconcile() {
        if (shuttingDown) {
            return;
        }
        long holding = workers.stream().filter(Worker::holdsSlot).count();
        for (long i = holding; i < desired; i++) {
            spawn(newWorker(reload.generation(), WorkerIndexes.forNewSlot(workers)));
        }
        WorkerIndexes.toRetire(workers, desired).forEach(worker -> retire(worker, "scaled down"));
    }

    Worker newWorker(long generation, int index) {
        int id = nextId++;
        LogBuffer buffer = logs.open(id);
        Worker worker = new Worker(id, index, generation, buffer, new Backoff(properties.restart()), events);
        workers.add(worker);
        return worker;
    }

    /** Starts a process for a worker in STARTING state. */
    void spawn(Worker worker) {
        int port = FreePorts.pick();
        ChildProcess process;
        try {
            process = launcher.launch(worker.id, launchSpecs.forWorker(worker.id, worker.index, desired, port), worker.logs);
        } catch (IOException | RuntimeException ex) {
            worker.process = null;
            worker.lastExit = new WorkerExit(0, -1, null, clock.instant(), Duration.ZERO,
                    "cannot start: " + ex.getMessage(), List.of());
            events.add(Type.SPAWN_FAILED, worker.id, 0, "worker " + worker.id + " cannot start: " + ex.getMessage());
            log.warn("Worker {} cannot start: {}", worker.id, ex.getMessage());
            afterExit(worker, worker.lastExit, ExitCause.COULD_NOT_START);
            return;
        }
        worker.process = process;
        worker.port = port;
        worker.stopReason = null;
        worker.stopCause = null;
        worker.readyOnce = false;
        worker.livenessFailures = 0;
        worker.requestLimit = recycler.requestLimit();
        worker.endpoint = new Endpoint(worker.id, worker.index, process.handle(), port,
                properties.worker().maxConcurrency(), () -> loop.post(new Ejected(worker, process)), slotFreed);
        events.add(Type.SPAWNED, worker.id, process.pid(), "worker " + worker.id + " spawned as pid " + process.pid()
                + " on port " + port + " (index " + worker.index + ", generation " + worker.generation + ")");
        Endpoint endpoint = worker.endpoint;
        process.onExit().whenComplete((code, error) -> {
            endpoint.stopAccepting();
            // Its tunnels' clients must learn at once, not when their next write fails.
            endpoint.closeTunnels(Duration.ZERO);
            loop.post(new ProcessExited(worker, process, code == null ? -1 : code));
        });
        healthChecks.watchStartup(worker, process);
    }

    /** The readiness probe passed: into the rotation. */
    void ready(Worker worker) {
        Duration startup = Duration.between(worker.process.startedAt(), clock.instant());
        worker.moveTo(WorkerState.READY, Type.READY, "worker " + worker.id + " (pid " + worker.pid() + ") is READY after "
                + startup.toMillis() + " ms");
        worker.readyOnce = true;
        worker.readyAt = clock.instant();
        metrics.recordStartup(startup);
        log.info("Worker {} (pid {}) is READY on port {} after {} ms", worker.id, worker.pid(), worker.port, startup.toMillis());
        reload.onReady(worker);
    }

    /** Takes a worker out for good: drains it when it serves, stops it when it runs, forgets it otherwise. */
    void retire(Worker worker, String reason) {
        worker.retiring = true;
        switch (worker.state()) {
            case READY -> drain(worker, reason);
            case STARTING -> stop(worker, reason, ExitCause.STOPPED);
            case BACKOFF, FAILED -> {
                worker.moveTo(WorkerState.EXITED);
                forget(worker, reason);
            }
            case EXITED -> forget(worker, reason);
            case DRAINING, STOPPING -> worker.stopReason = worker.stopReason == null ? reason : worker.stopReason;
        }
    }

    private void drain(Worker worker, String reason) {
        worker.stopReason = reason;
        worker.drainDeadline = clock.instant().plus(properties.worker().drainTimeout());
        Duration tunnelWindow = tunnelDrainWindow();
        worker.tunnelDeadline = clock.instant().plus(tunnelWindow);
        int tunnels = worker.endpoint.tunnels();
        worker.moveTo(WorkerState.DRAINING, Type.DRAINING, "worker " + worker.id + " draining (" + reason + "), "
                + worker.endpoint.inFlight() + " in flight" + (tunnels == 0 ? "" : ", " + tunnels
                + " tunnels closed over " + tunnelWindow.toMillis() + " ms"));
        worker.endpoint.closeTunnels(tunnelWindow);
        checkDrained(worker, worker.process);
    }

    private void checkDrained(Worker worker, ChildProcess process) {
        if (worker.state() != WorkerState.DRAINING) {
            return;
        }
        Instant now = clock.instant();
        boolean requestsDone = worker.endpoint.inFlight() == 0 || !now.isBefore(worker.drainDeadline);
        boolean tunnelsDone = worker.endpoint.tunnels() == 0 || !now.isBefore(worker.tunnelDeadline);
        if (requestsDone && tunnelsDone) {
            stop(worker, worker.stopReason, ExitCause.STOPPED);
        } else {
            worker.arm(loop.schedule(new TimerFired(worker, process, Timer.DRAIN_CHECK), DRAIN_POLL));
        }
    }

    /**
     * The window over which a draining worker's tunnels are closed: {@code fleet.proxy.tunnel.drain-timeout}, within
     * {@code fleet.worker.drain-timeout} when the master shuts down (it has that long in all).
     */
    private Duration tunnelDrainWindow() {
        Duration window = properties.proxy().tunnel().drainTimeout();
        Duration shutdown = properties.worker().drainTimeout();
        return shuttingDown && shutdown.compareTo(window) < 0 ? shutdown : window;
    }

    /** Sends the stop signal, and KILLs the tree when the worker outlives the kill timeout; its exit has {@code cause}. */
    void stop(Worker worker, String reason, ExitCause cause) {
        ChildProcess process = worker.process;
        worker.stopReason = reason;
        worker.stopCause = cause;
        String signal = properties.worker().stopSignal();
        worker.moveTo(WorkerState.STOPPING, Type.STOPPING, "worker " + worker.id + " stopping with " + signal + " (" + reason + ")");
        process.signal(signal);
        worker.arm(loop.schedule(new TimerFired(worker, process, Timer.KILL_TIMEOUT), properties.worker().killTimeout()));
    }

    /** Sends a signal with no drain, as a crash drill: the exit is handled like any crash. */
    void signal(Worker worker, String signal) {
        if (!worker.state().hasProcess() || worker.process == null) {
            throw new FleetExceptions.FleetConflictException("Worker " + worker.id + " has no running process (state "
                    + worker.state() + ")");
        }
        log.info("Sending {} to worker {} (pid {}) on request", signal, worker.id, worker.pid());
        worker.process.signal(signal);
    }

    /** A process ended: record how, then restart, replace or forget the worker. */
    private void reap(Worker worker, ChildProcess process, int code) {
        worker.probing = false;
        worker.servedBefore += worker.endpoint.served();
        Duration uptime = Duration.between(process.startedAt(), clock.instant());
        String reason = worker.stopReason != null ? worker.stopReason : code == 0 ? "exited on its own" : "crashed";
        WorkerExit exit = new WorkerExit(process.pid(), code, WorkerExit.signalOf(code), clock.instant(), uptime, reason,
                worker.logs.tailOf(process.pid(), LAST_LINES, LAST_LINES_BYTES));
        worker.lastExit = exit;
        String signal = exit.signal() == null ? "" : " (signal " + exit.signal() + ")";
        String message = "worker " + worker.id + " (pid " + process.pid() + ") exited with code " + code + signal + " after "
                + uptime.toMillis() + " ms: " + reason;
        events.add(Type.EXITED, worker.id, process.pid(), message);
        if (worker.retiring) {
            log.info("Worker {} (pid {}) exited with code {}{} after {} ms: {}", worker.id, process.pid(), code, signal,
                    uptime.toMillis(), reason);
        } else {
            log.warn("Worker {} (pid {}) exited with code {}{} after {} ms: {}", worker.id, process.pid(), code, signal,
                    uptime.toMillis(), reason);
        }
        afterExit(worker, exit, ExitCause.of(worker.retiring || shuttingDown, worker.replacedBy != null,
                worker.stopCause, code, exit.signal()));
    }

    private void afterExit(Worker worker, WorkerExit exit, ExitCause cause) {
        Duration readyFor = worker.readyOnce ? Duration.between(worker.readyAt, exit.at()) : null;
        ExitRules.Reaction reaction = ExitRules.decide(cause, worker.replacing != null && !worker.readyOnce,
                properties.restart().policy(), worker.backoff, exit.uptime(), readyFor, exit.at());
        worker.moveTo(reaction.state());
        switch (reaction.outcome()) {
            case FORGET -> forget(worker, exit.reason());
            case ROLL_BACK -> {
                reload.onFailed(worker, "worker " + worker.id + " " + describeFailedStart(cause, exit));
                forget(worker, exit.reason());
            }
            case RESTART -> scheduleRestart(worker, exit, cause, reaction, readyFor);
            case STAY_EXITED -> log.info("Worker {} stays EXITED: restart policy {}", worker.id, properties.restart().policy());
        }
    }

    private static String describeFailedStart(ExitCause cause, WorkerExit exit) {
        return cause == ExitCause.STARTUP_TIMEOUT || cause == ExitCause.COULD_NOT_START
                ? exit.reason() : "exited with code " + exit.code() + " before it was READY";
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
        worker.arm(loop.schedule(new TimerFired(worker, worker.process, Timer.RESTART_DUE), reaction.delay()));
    }

    private void restart(Worker worker) {
        if (worker.state() != WorkerState.BACKOFF && worker.state() != WorkerState.FAILED || shuttingDown) {
            return;
        }
        worker.restarts++;
        worker.moveTo(WorkerState.STARTING);
        spawn(worker);
    }

    private void forget(Worker worker, String reason) {
        workers.remove(worker);
        logs.retire(worker.id);
        events.add(Type.STOPPED, worker.id, 0, "worker " + worker.id + " removed from the fleet (" + reason + ")");
    }

    /** Drains and stops every worker: the master is shutting down. */
    private void shutdown() {
        shuttingDown = true;
        reload.cancel("the master is shutting down");
        for (Worker worker : List.copyOf(workers)) {
            retire(worker, "master shutting down");
        }
    }

    boolean anyProcessLeft() {
        return workers.stream().anyMatch(worker -> worker.state().hasProcess());
    }

    /** Kills every remaining process at once: the last step of shutdown. */
    void killAll() {
        workers.stream().filter(worker -> worker.process != null).forEach(worker -> worker.process.killTree());
    }

    FleetSnapshot snapshot(long version) {
        List<WorkerSnapshot> views = workers.stream().map(Worker::snapshot).toList();
        Endpoint[] ready = workers.stream()
                .filter(worker -> worker.state() == WorkerState.READY && worker.endpoint.isAccepting())
                .map(worker -> worker.endpoint).toArray(Endpoint[]::new);
        return new FleetSnapshot(version, desired, views, ready, reload.status());
    }
}
