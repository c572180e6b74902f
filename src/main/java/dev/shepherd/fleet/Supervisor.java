package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.AboutProcess;
import dev.shepherd.fleet.SupervisorEvent.Command;
import dev.shepherd.fleet.SupervisorEvent.Ejected;
import dev.shepherd.fleet.SupervisorEvent.ProbeFailed;
import dev.shepherd.fleet.SupervisorEvent.ProbePassed;
import dev.shepherd.fleet.SupervisorEvent.OutputGraceOver;
import dev.shepherd.fleet.SupervisorEvent.Outlier;
import dev.shepherd.fleet.SupervisorEvent.ProcessExited;
import dev.shepherd.fleet.SupervisorEvent.RoundDue;
import dev.shepherd.fleet.SupervisorEvent.ShutdownRequested;
import dev.shepherd.fleet.SupervisorEvent.Started;
import dev.shepherd.fleet.SupervisorEvent.SuccessorReady;
import dev.shepherd.fleet.SupervisorEvent.StartupTimedOut;
import dev.shepherd.fleet.SupervisorEvent.TimerFired;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.LogFiles;
import dev.shepherd.worker.NodeInspectors;
import dev.shepherd.worker.ProcFs;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
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

    /** Which programs carry Node's inspector, read once per program file. */
    private static final NodeInspectors NODE_INSPECTORS = new NodeInspectors();
    /** How many of a worker's descendants are looked at for Node before USR1: a fork bomb's tree is not read whole. */
    private static final int NODE_LOOK_DESCENDANTS = 256;

    private final FleetProperties properties;
    private final Clock clock;
    private final HealthChecks healthChecks;
    private final FleetEvents events;
    private final Recycler recycler;
    private final ProcessLauncher launcher;
    private final WorkerLogs logs;
    /** The workers that left lately, for the error that names one of them. */
    final Departures departures = new Departures();
    private final FleetCommands commands;
    final Drains drains;
    private final Exits exits;
    final Spawner spawner;
    private final SupervisorQueue loop;
    final List<Worker> workers = new ArrayList<>();
    /**
     * Most workers one reconcile starts. Each start is a process, and on cgroup v2 a move into its own group, which
     * took ~220 ms here: an attacking helper's {@code scale 64} held the supervisor 14 s in one pass, its probes and
     * exits waiting, and the command's answer came after the admin API had given up.
     */
    static final int SPAWNS_PER_PASS = 8;
    /** A {@link SupervisorEvent.ReconcileMore} is queued. */
    private boolean morePending;
    private final List<Runnable> afterPublish = new ArrayList<>();
    final RollingReload reload;
    int desired;
    /** What the current generation runs; a reload changes it when it succeeded (see {@link RollingReload}). */
    WorkerSpec spec;
    boolean shuttingDown;
    /**
     * The master's context is closing ({@link SupervisorEvent.StopBegun}), before {@link #shuttingDown}: while the
     * proxy drains, a reload went on spawning and finished, and was saved as the new state (found by a new user's
     * attack; with no request in flight the same SIGTERM failed it). Set at once by {@link #stopBegins()}, from the
     * thread that closes the context, so that a pass of spawns under way stops at its next spawn instead of after
     * the events queued before the {@link SupervisorEvent.StopBegun} (a re-attack saw 5 workers start in the 2 s
     * after the signal); everything else is confined to the supervisor's thread.
     */
    volatile boolean stopBegun;
    private int nextId = 1;
    /** How each worker's command line and environment are made; a reload's environment is checked against it. */
    final LaunchSpecs launchSpecs;
    /** Completed when no process is left after a shutdown was asked for. */
    private CompletableFuture<Void> stopped;

    Supervisor(FleetProperties properties, Clock clock, SupervisorQueue loop, ProcessLauncher launcher, LaunchSpecs launchSpecs,
               HealthProbe readiness, HealthProbe liveness, FleetEvents events, FleetMetrics metrics, Runnable slotFreed) {
        this.properties = properties;
        this.clock = clock;
        this.launchSpecs = launchSpecs;
        this.loop = loop;
        this.healthChecks = new HealthChecks(properties, loop, readiness, liveness, events, this, clock);
        this.events = events;
        this.desired = properties.desiredWorkers();
        this.spec = WorkerSpec.configured(properties);
        this.reload = new RollingReload(this, events, metrics, clock, loop,
                Collections.min(List.of(properties.restart().minUptime(), RollingReload.MAX_SETTLE)),
                properties.worker().startupTimeout());
        this.recycler = new Recycler(properties.worker(), events, metrics, this::stopOverMemory);
        this.launcher = launcher;
        this.commands = new FleetCommands(this, events);
        this.drains = new Drains(properties, clock, loop, this);
        this.exits = new Exits(properties, clock, loop, events, metrics, this);
        this.spawner = new Spawner(properties, clock, loop, launcher, launchSpecs, healthChecks, events, metrics, recycler,
                exits, slotFreed, this);
        FleetProperties.Worker worker = properties.worker();
        this.logs = new WorkerLogs(worker.logLines(), worker.logBytes().toBytes(), worker.retiredLogs(),
                index -> worker.logDirectory() == null ? LogFiles.NONE : LogFiles.of(worker.logDirectory(), index,
                        worker.logFileMaxSize().toBytes(), worker.logFileMaxFiles()));
        if (properties.restart().minUptime().isZero()) {
            log.warn("fleet.restart.min-uptime is 0: any worker that was READY at all ran, so one that crashes right after "
                    + "READY restarts after {} ms every time and is never found crash-looping (FAILED), and a reload's new "
                    + "worker takes over as soon as it is READY; 1s is the default", properties.restart().initialBackoff().toMillis());
        }
        if (properties.restart().minUptime().compareTo(RollingReload.MAX_SETTLE) > 0) {
            // Found by a new user's attack: the cap was in the README only.
            long millis = properties.restart().minUptime().toMillis();
            log.warn("fleet.restart.min-uptime is {}: a reload's new worker still takes over after {} s READY at "
                    + "most, so that a reload of many workers ends", millis % 1000 == 0 ? millis / 1000 + " s"
                    : millis + " ms", RollingReload.MAX_SETTLE.toSeconds());
        }
        if (properties.health() != null && properties.health().minReady() > properties.desiredWorkers()) {
            log.warn("fleet.health.min-ready is {} but fleet.workers is {}: the fleet's health stays DEGRADED until it "
                    + "is scaled to {} or more", properties.health().minReady(), properties.desiredWorkers(),
                    properties.health().minReady());
        }
        if (properties.worker().maxRequestsJitter() > 0 && properties.worker().maxRequests() == 0) {
            log.warn("fleet.worker.max-requests-jitter is {} but fleet.worker.max-requests is 0 (no limit): the "
                    + "jitter is added to max-requests and does nothing without it", properties.worker().maxRequestsJitter());
        }
    }

    Optional<LogBuffer> logs(int id) {
        return logs.find(id);
    }

    /** Reopens the worker log files; how many slots have files. Any thread: {@link WorkerLogs} is thread-safe. */
    int reopenLogFiles() {
        return logs.reopenFiles();
    }

    Optional<Worker> find(int id) {
        return workers.stream().filter(worker -> worker.id == id).findFirst();
    }

    /**
     * The one dispatch: every reaction of the supervisor starts here. An event about a process the worker no longer
     * runs is dropped here, once (but the tree of every process that ended is reaped).
     */
    void handle(SupervisorEvent event) {
        // What an exit left running is looked at before the tree is killed: a program that daemonized.
        List<String> survivors = event instanceof ProcessExited exited ? LeftRunning.of(exited) : List.of();
        if (event instanceof ProcessExited exited) {
            launcher.reaped(exited.process());
        }
        if (event instanceof AboutProcess about && !about.worker().isCurrent(about.process())) {
            log.debug("Dropped {}: worker {} runs another process now", event.getClass().getSimpleName(), about.worker().id);
            return;
        }
        if (event instanceof ProcessExited exited) {
            exits.reap(exited.worker(), exited.process(), exited.code(), survivors);
        } else if (event instanceof ProbePassed passed) {
            healthChecks.passed(passed);
        } else if (event instanceof ProbeFailed failed) {
            healthChecks.failed(failed);
        } else if (event instanceof StartupTimedOut timedOut) {
            healthChecks.startupTimedOut(timedOut.worker(), timedOut.process());
        } else if (event instanceof TimerFired fired) {
            timerFired(fired);
        } else if (event instanceof SuccessorReady ready) {
            reload.retireReplaced(ready.worker(), ready.successor());
        } else if (event instanceof Ejected ejected) {
            healthChecks.ejected(ejected.worker(), ejected.process());
        } else if (event instanceof Outlier outlier) {
            healthChecks.outlier(outlier.worker(), outlier.process());
        } else if (event instanceof OutputGraceOver over) {
            over.handOver().run();
        } else if (event instanceof SupervisorEvent.ExitOutputRead read) {
            exits.outputRead(read.worker(), read.process());
        } else if (event instanceof RoundDue due) {
            round(due.round());
        } else if (event instanceof SupervisorEvent.GuardExited) {
            // On this thread, like the first start.
            launcher.restartGuard();
        } else if (event instanceof SupervisorEvent.ReconcileMore) {
            morePending = false;
        } else if (event instanceof Started) {
            // On this thread, which the orphan guard's parent-death signal follows.
            launcher.start();
        } else if (event instanceof SupervisorEvent.StopBegun) {
            stopBegun = true;
            reload.cancel("the master is shutting down");
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
            case DRAIN_CHECK -> drains.checkDrained(worker, fired.process());
            case KILL_TIMEOUT -> {
                if (fired.process().isAlive()) {
                    events.add(Type.KILL_TIMEOUT, worker.id, fired.process().pid(), "worker " + worker.id
                            + " outlived the kill timeout; KILL");
                    fired.process().killTree();
                }
            }
            case RESTART_DUE -> restart(worker);
            case EJECTION_OVER -> healthChecks.ejectionOver(worker);
        }
    }

    private void round(SupervisorEvent.Round round) {
        switch (round) {
            case LIVENESS -> {
                healthChecks.probeLiveness(workers);
                launcher.sweep();
            }
            case TREE_SCAN -> launcher.record(workers.stream()
                    .filter(worker -> worker.state().hasProcess() && worker.process() != null).map(worker -> worker.process()).toList());
            case RECYCLE -> {
                if (!shuttingDown && !stopBegun) {
                    recycler.check(workers, reload);
                }
            }
        }
    }

    /** A worker past twice its memory limit is stopped now, as a hung one is (see {@link Recycler}). */
    private void stopOverMemory(Worker worker, String reason) {
        events.add(Type.RECYCLING, worker.id, worker.pid(), "worker " + worker.id + " stopped: " + reason);
        log.warn("Worker {} (pid {}) is stopped now: {}", worker.id, worker.pid(), reason);
        drains.stop(worker, reason, ExitCause.OVER_MEMORY);
    }

    void closeOrphanGuard() {
        launcher.close();
    }

    /** Runs {@code task} at the end of the event being handled, once its snapshot is published. */
    void afterPublish(Runnable task) {
        afterPublish.add(task);
    }

    /**
     * The snapshot of the last handled event is published (or the shutdown's last step ran): its events are seen and
     * its commands answered now, so that nobody learns of a change before the fleet shows it.
     */
    void published() {
        events.publish();
        List<Runnable> tasks = List.copyOf(afterPublish);
        afterPublish.clear();
        tasks.forEach(Runnable::run);
    }

    /** The master begins to stop: no worker starts from now on. Any thread; the rest follows in {@link SupervisorEvent.StopBegun}. */
    void stopBegins() {
        stopBegun = true;
    }

    /**
     * Starts or retires workers until the ones holding a slot match the desired count, starting at most
     * {@link #SPAWNS_PER_PASS} at a time: the rest in the next pass, after what was queued meanwhile.
     */
    void reconcile() {
        // From the first moment of the master's stop, no worker starts: a scale-up under way spawned 27 more after a
        // SIGTERM, all then stopped again (found by an attacking helper).
        if (shuttingDown || stopBegun) {
            return;
        }
        long holding = workers.stream().filter(Worker::holdsSlot).count();
        long missing = desired - holding;
        // While a pass is queued, the events before it (exits, kill timers, probes, commands) are handled without
        // spawns of their own: each waits for one pass at most, not for a pass per event ahead of it (an attacking
        // helper saw stopping workers wait 25 s for their exit and kill timers while scale 64/1/64 thrashed).
        if (!morePending) {
            for (long i = 0; i < Math.min(missing, SPAWNS_PER_PASS) && !stopBegun; i++) {
                spawner.spawn(newWorker(reload.spawnGeneration(), reload.spawnSpec(), WorkerIndexes.forNewSlot(workers)));
            }
            if (missing > SPAWNS_PER_PASS) {
                morePending = true;
                loop.post(new SupervisorEvent.ReconcileMore());
            }
        }
        WorkerIndexes.toRetire(workers, desired).forEach(worker -> drains.retire(worker, "scaled down"));
        healthChecks.keepOneInRotation();
    }

    Worker newWorker(long generation, WorkerSpec spec, int index) {
        int id = nextId++;
        LogBuffer buffer = logs.open(id, index);
        Worker worker = new Worker(id, index, generation, spec, buffer, new Backoff(properties.restart()), events);
        workers.add(worker);
        return worker;
    }

    /**
     * Sends a signal to the worker's process tree with no drain, as a crash drill: the exit is handled like any crash.
     * A SIGNAL_SENT event, which the master's log tells at INFO.
     */
    void signal(Worker worker, String signal) {
        running(worker);
        String path = "POST /fleet/workers/" + worker.id + "/kill";
        events.add(Type.SIGNAL_SENT, worker.id, worker.pid(), signal + " sent to worker " + worker.id
                + "'s processes on request (" + path + ")");
        // Its exit then says so: "exited on its own" (TERM) or "crashed" (KILL) hid that an operator sent it (a new
        // user's). Still a crash as far as restarts go: kill is the crash drill.
        worker.alsoAskedToStop(signal + " sent on request (" + path + ")");
        worker.process().signal(signal);
    }

    /**
     * Sends a signal that is not meant to stop it ({@code SignalNames.REQUESTS}) to the worker's own process, not its
     * descendants, on request: a SIGNAL_SENT event, which the master's log tells at INFO. Nothing else changes; should
     * the process end by that signal (it does not handle it), {@link Exits} says so. Answers the worker's id.
     */
    int requestSignal(Worker worker, String signal, String path) {
        running(worker);
        refuseUsr1(worker, signal);
        worker.signalRequested(signal, clock.instant());
        if (!worker.process().signalProcess(signal)) {
            worker.signalRequested(null, null);
            throw new FleetExceptions.FleetConflictException(signal + " could not be sent to worker " + worker.id
                    + " (pid " + worker.pid() + "): its process has exited, or the system's kill failed (the master's "
                    + "log says why)");
        }
        events.add(Type.SIGNAL_SENT, worker.id, worker.pid(), signal + " sent to worker " + worker.id
                + " on request (" + path + ")");
        return worker.id;
    }

    /**
     * Refuses USR1 to a worker that runs Node.js: Node opens its inspector on USR1, on 127.0.0.1:9229 for every local
     * user to drive as the worker's user (an attacking helper ran a command as root through it).
     */
    private void refuseUsr1(Worker worker, String signal) {
        if (signal.equals("USR1") && !properties.worker().allowUsr1()) {
            // Not by looking alone: a wrapper, a container (docker run passes signals on) or a process the app
            // started outside its tree passed USR1 on to a node no look found (a re-attacking helper's).
            throw new FleetExceptions.FleetConflictException("USR1 is not sent unless fleet.worker.allow-usr1 is true: "
                    + "Node.js and Deno open their inspector on it (127.0.0.1:9229, with no login: every user of the "
                    + "machine could then run code as the worker's user), whatever passes it on to them (a wrapper, "
                    + "a container). Give a log reopen HUP or USR2, or allow USR1 for an app that takes it");
        }
        refuseUsr1ToNode(worker, signal);
    }

    private static void refuseUsr1ToNode(Worker worker, String signal) {
        if (signal.equals("USR1") && runsNode(worker)) {
            throw new FleetExceptions.FleetConflictException("Worker " + worker.id + " runs Node.js, which opens its "
                    + "inspector on USR1 (127.0.0.1:9229, with no login: every user of the machine could then run code "
                    + "as the worker's user); USR1 is not sent to it. Start the inspector deliberately (node --inspect), "
                    + "and give a log reopen another signal (HUP, USR2)");
        }
    }

    /**
     * Whether the worker runs Node.js: by its command's program, or by a process of its tree (its own and, at most
     * {@value #NODE_LOOK_DESCENDANTS} of, its descendants: {@code dumb-init}, {@code tini}, {@code doppler run} and
     * other wrappers pass a USR1 on to the node they run; found by a new user's attack) whose program is named so or
     * carries the inspector ({@link NodeInspectors}: a renamed {@code node}, a single executable application, Deno).
     */
    private static boolean runsNode(Worker worker) {
        if (runsNode(worker.spec)) {
            return true;
        }
        long pid = worker.pid();
        return opensInspector(pid) || ProcessHandle.of(pid).map(process -> process.descendants()
                .limit(NODE_LOOK_DESCENDANTS).anyMatch(descendant -> opensInspector(descendant.pid()))).orElse(false);
    }

    private static boolean opensInspector(long pid) {
        return ProcFs.program(pid).filter(Supervisor::isNode).isPresent() || NODE_INSPECTORS.opensOnUsr1(pid);
    }

    /**
     * Whether {@code spec}'s program is Node.js by its file name; the running process's program is looked at too
     * ({@link ProcFs#program}), since {@code npm start}, {@code env node} and a script with a node shebang run node
     * under another name (found by an attacking helper).
     */
    static boolean runsNode(WorkerSpec spec) {
        return !spec.command().isEmpty() && isNode(java.nio.file.Path.of(spec.command().get(0)).getFileName().toString());
    }

    /** Whether a program's file name is Node.js's: {@code node}, {@code nodejs}, {@code node18} and the like. */
    static boolean isNode(String program) {
        return program.matches("node(js)?[0-9.]*");
    }

    /**
     * {@link #requestSignal} to every worker that serves (READY or DRAINING): their ids, lowest first. Not to one still
     * starting, which a logrotate's HUP ended half a second into a reload, and the reload was rolled back blaming the
     * new version (found by an attacking helper); a starting worker is signalled by its id. One whose process exited
     * since is left out; none delivered is a conflict.
     */
    List<Integer> requestSignalAll(String signal) {
        List<Worker> serving = workers.stream()
                .filter(worker -> (worker.state() == WorkerState.READY || worker.state() == WorkerState.DRAINING)
                        && worker.process() != null)
                .sorted(java.util.Comparator.comparingInt(worker -> worker.id)).toList();
        if (serving.isEmpty()) {
            throw new FleetExceptions.FleetConflictException("No worker is READY or DRAINING now (GET /fleet, "
                    + "shepherd ls, says what each is doing): " + signal + " was sent to none");
        }
        // Refused to all before any is sent, rather than sent to the others.
        serving.forEach(worker -> refuseUsr1(worker, signal));
        List<Integer> sent = new ArrayList<>();
        for (Worker worker : serving) {
            try {
                sent.add(requestSignal(worker, signal, "POST /fleet/signal"));
            } catch (FleetExceptions.FleetConflictException notSent) {
                log.warn("{}", notSent.getMessage());
            }
        }
        if (sent.isEmpty()) {
            throw new FleetExceptions.FleetConflictException(signal + " could not be sent to any worker (the master's "
                    + "log says why)");
        }
        return sent;
    }

    private static void running(Worker worker) {
        if (!worker.state().hasProcess() || worker.process() == null) {
            throw new FleetExceptions.FleetConflictException("Worker " + worker.id + " has no running process (state "
                    + worker.state() + ")");
        }
    }

    /** The backoff is over: a new process for the same worker. */
    private void restart(Worker worker) {
        if (worker.state() != WorkerState.BACKOFF && worker.state() != WorkerState.FAILED || shuttingDown || stopBegun) {
            return;
        }
        worker.restarting();
        worker.moveTo(WorkerState.STARTING);
        spawner.spawn(worker);
    }

    /** Removes a worker from the fleet for good (a REMOVED event). */
    void remove(Worker worker, String reason) {
        // A replacement that leaves before it took over (scaled down while starting) gives the slot back to the
        // worker it was replacing, which the reconcile then counts, and retires if it is one too many; or, when a
        // successor of its own is starting (a reload's step), to that successor, which takes over from the worker
        // the slot went back to: else that worker and the successor would both hold the slot (one index twice, an
        // old-generation worker outliving a reload that succeeded) and the reconcile would retire another slot's.
        Worker old = worker.replacing();
        Worker successor = worker.replacedBy();
        worker.replacementFailed();
        if (old != null && successor != null && successor.replacing() == worker && workers.contains(old)) {
            Worker.replaces(successor, old);
            if (successor.state() == WorkerState.READY) {
                // Its take-over, posted when it got READY, named the worker that left: it is posted again.
                reload.onReady(successor);
            }
        }
        workers.remove(worker);
        departures.add(new Departures.Departure(worker.id, worker.index, clock.instant(), reason));
        logs.retire(worker.id);
        events.add(Type.REMOVED, worker.id, 0, "worker " + worker.id + " removed from the fleet (" + reason + ")");
    }

    /** Drains and stops every worker: the master is shutting down. */
    private void shutdown() {
        shuttingDown = true;
        reload.cancel("the master is shutting down");
        for (Worker worker : List.copyOf(workers)) {
            drains.retire(worker, "master shutting down");
        }
    }

    boolean anyProcessLeft() {
        return workers.stream().anyMatch(worker -> worker.state().hasProcess());
    }

    /** Kills every remaining process at once: the last step of shutdown. */
    void killAll() {
        workers.stream().filter(worker -> worker.process() != null).forEach(worker -> worker.process().killTree());
    }

    FleetSnapshot snapshot(long version) {
        List<WorkerSnapshot> views = workers.stream().map(Worker::snapshot).toList();
        Endpoint[] ready = workers.stream()
                .filter(worker -> worker.state() == WorkerState.READY && worker.endpoint().isAccepting())
                .map(worker -> worker.endpoint()).toArray(Endpoint[]::new);
        return new FleetSnapshot(version, desired, views, ready, reload.status(), spec,
                Generation.of(workers, reload.currentGeneration(), spec));
    }
}
