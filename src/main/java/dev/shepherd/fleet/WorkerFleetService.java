package dev.shepherd.fleet;

import dev.shepherd.Plural;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.LogDirectoryLock;
import io.micrometer.core.instrument.MeterRegistry;
import lombok.extern.slf4j.Slf4j;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;

import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The one owner of the fleet: starts {@code fleet.workers} workers, supervises them and answers the admin
 * commands (scale, reload, replace, kill, signal).
 *
 * <p>All fleet state lives on one supervisor thread (see {@link Supervisor}); every change ends with a new
 * immutable {@link FleetSnapshot} published through one {@link AtomicReference}, which the proxy reads without
 * locking. Started first and stopped last among the lifecycle beans, so the proxy has drained when the
 * workers are stopped.
 */
@Slf4j
public class WorkerFleetService implements SmartLifecycle {

    /** Lifecycle phase: before the proxy starts, after it stops. */
    public static final int PHASE = 0;
    /**
     * How long an admin command waits for the supervisor to begin it; then it is withdrawn, and its sender told that
     * the supervisor is busy.
     */
    public static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(10);

    private final FleetProperties properties;
    private final SupervisorLoop loop;
    private final ExecutorService probeExecutor;
    private final FleetEvents events;
    private final Supervisor supervisor;
    private final SnapshotPublisher publisher;
    private final StateKeeper state;
    /** Held from construction until {@link #close}: null without {@code fleet.state-file}. */
    private final StateLock stateLock;
    /** Held from construction until {@link #close}: null without {@code fleet.worker.log-directory}. */
    private final LogDirectoryLock logDirectoryLock;
    /** Copied on write and read as a plain array: an event loop calls them on every release, with no allocation. */
    private volatile Runnable[] slotListeners = new Runnable[0];
    private volatile boolean running;

    /**
     * @throws StateFileException when {@code fleet.state-file} is set but cannot be used (see {@link StateKeeper})
     * @throws LogDirectoryLock.Refused when {@code fleet.worker.log-directory} is another master's
     */
    public WorkerFleetService(FleetProperties configured, Clock clock, MeterRegistry registry) {
        // fleet.state-file: one master per file; a saved desired count and spec take the configuration's place.
        this.stateLock = StateLock.acquire(configured.stateFile());
        FleetProperties properties;
        LogDirectoryLock logLock = null;
        try {
            // One master per log directory, or two append to the same files.
            logLock = LogDirectoryLock.acquire(configured.worker().logDirectory());
            properties = StateKeeper.restore(configured);
        } catch (RuntimeException ex) {
            if (logLock != null) {
                logLock.close();
            }
            if (stateLock != null) {
                stateLock.close();
            }
            throw ex;
        }
        this.logDirectoryLock = logLock;
        this.properties = properties;
        this.state = StateKeeper.of(properties, clock);
        this.publisher = new SnapshotPublisher(properties.desiredWorkers(), WorkerSpec.configured(properties));
        this.loop = new SupervisorLoop(publisher::reconcileAndPublish);
        // One thread per probe in flight (at most two per worker), idle ones ending after a minute: a probe
        // blocks its thread for up to its timeout, and one hung worker must not delay the others' probes.
        AtomicInteger probeThreads = new AtomicInteger();
        this.probeExecutor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                runnable -> {
                    Thread probeThread = new Thread(runnable, "fleet-probe-" + probeThreads.incrementAndGet());
                    probeThread.setDaemon(true);
                    return probeThread;
                });
        this.events = new FleetEvents(1000, clock);
        this.supervisor = new Supervisor(properties, clock, loop, new WorkerTrees(properties.worker(), clock,
                        () -> loop.post(new SupervisorEvent.GuardExited())),
                new LaunchSpecs(properties),
                new Probe(properties.readiness().status(), properties.readiness().timeout(), probeExecutor),
                new Probe(properties.liveness().status(), properties.liveness().timeout(), probeExecutor),
                events, new FleetMetrics(registry, publisher::current), this::slotFreed);
        loop.attach(supervisor);
        publisher.addListener(state);
    }

    /** The fleet now. Lock-free; safe from any thread. */
    public FleetSnapshot snapshot() {
        return publisher.current();
    }

    /** Calls {@code listener} with every new snapshot, on the supervisor's thread: keep it short. */
    public void onSnapshot(Consumer<FleetSnapshot> listener) {
        publisher.addListener(listener);
    }

    public void removeSnapshotListener(Consumer<FleetSnapshot> listener) {
        publisher.removeListener(listener);
    }

    /**
     * Calls {@code listener} each time a request is counted out of a worker that has a concurrency limit
     * ({@code fleet.worker.max-concurrency}), on the thread that counted it out (a proxy event loop): keep it
     * short, lock-free and free of allocation.
     */
    public synchronized void onSlotFreed(Runnable listener) {
        Runnable[] next = Arrays.copyOf(slotListeners, slotListeners.length + 1);
        next[next.length - 1] = listener;
        slotListeners = next;
    }

    public synchronized void removeSlotListener(Runnable listener) {
        slotListeners = Arrays.stream(slotListeners).filter(known -> known != listener).toArray(Runnable[]::new);
    }

    private void slotFreed() {
        for (Runnable listener : slotListeners) {
            listener.run();
        }
    }

    public FleetEvents events() {
        return events;
    }

    public int maxWorkers() {
        return properties.maxWorkers();
    }

    /** How many output lines are kept per worker id. */
    public int logLines() {
        return properties.worker().logLines();
    }

    /**
     * The error for a worker id that is not in the fleet: when it left lately, it says when, why and which worker
     * holds its index now (PM2's ids stay across a reload; Shepherd's do not).
     */
    public FleetExceptions.NoSuchWorkerException noSuchWorker(int workerId) {
        return supervisor.departures.noSuchWorker(workerId, snapshot().workers());
    }

    /**
     * Closes every worker log file ({@code fleet.worker.log-directory}), so that each one's next line opens its path
     * again, as nginx and gunicorn reopen their logs on {@code SIGUSR1}. Any thread.
     *
     * @return how many worker slots have files (0 without a log directory)
     */
    public int reopenLogFiles() {
        return supervisor.reopenLogFiles();
    }

    /** The output buffer of a worker id, kept across its restarts. */
    public Optional<LogBuffer> logs(int workerId) {
        return supervisor.logs(workerId);
    }

    /**
     * Sets the desired number of workers: new ones start, surplus ones drain and stop, the highest indexes first
     * (a StatefulSet's scale down). Blocks the caller (an admin request's thread, never the supervisor's) until the
     * supervisor has taken the command: at most {@link #COMMAND_TIMEOUT} to begin, {@code 60 s} to finish.
     *
     * @param workers the desired count, 1 to {@link #maxWorkers()}
     * @return the desired count before, which is {@code workers} when the scale changed nothing
     * @throws IllegalArgumentException when {@code workers} is out of that range (the message names {@code fleet.max-workers})
     * @throws FleetExceptions.FleetConflictException while a reload or its rollback runs
     * @throws FleetExceptions.SupervisorBusyException when the supervisor did not take the command in time
     */
    public int scale(int workers) {
        if (workers < 1 || workers > properties.maxWorkers()) {
            throw new IllegalArgumentException("workers must be between 1 and " + properties.maxWorkers()
                    + " (fleet.max-workers), not " + workers);
        }
        return call(new SupervisorEvent.Scale(workers, new CommandReply<>()));
    }

    /**
     * Changes the desired number of workers by {@code change} from what it is when the supervisor gets to it, so that
     * changes sent at once add up (a signal's one more or one fewer).
     *
     * @return the desired number before the change
     * @throws IllegalArgumentException when it would go below 1 or above {@code fleet.max-workers} (nothing changed)
     */
    public int scaleBy(int change) {
        return call(new SupervisorEvent.ScaleBy(change, properties.maxWorkers(), new CommandReply<>()));
    }

    /**
     * Starts a rolling reload to a new generation that runs the current generation's spec with {@code patch} applied
     * ({@link WorkerSpecPatch#NONE}: the same spec); its progress shows in {@link FleetSnapshot#reload()}. The new
     * spec becomes {@link FleetSnapshot#spec()} when the reload succeeded. Blocks the caller until the supervisor
     * answered.
     *
     * @throws FleetExceptions.InvalidSpecException when the patch is not valid (nothing started)
     * @throws FleetExceptions.ReloadInProgressException while a reload runs
     * @throws FleetExceptions.FleetConflictException while a failed reload is rolled back
     */
    public ReloadStatus reload(WorkerSpecPatch patch) {
        return call(new SupervisorEvent.Reload(patch, new CommandReply<>()));
    }

    /**
     * Starts a rolling reload to a new generation that runs the spec the last successful reload replaced, as
     * {@code kubectl rollout undo} does; a second undo goes back again. The spec is kept in memory: a master that
     * restarted has none. While a reload runs, it stops that reload instead, which rolls back as a failed one does
     * (the status returned: FAILED, with {@link RollingReload#UNDONE} as its reason). Blocks the caller until the
     * supervisor answered.
     *
     * @throws FleetExceptions.FleetConflictException when no reload has succeeded since the master started, or while
     *         a failed reload is rolled back
     */
    public ReloadStatus undo() {
        return call(new SupervisorEvent.Undo(new CommandReply<>()));
    }

    /**
     * Replaces one worker, surge-first: a new one starts, with a new id and the old one's index, and the old one
     * drains once the new one is READY; an EXITED worker (restart policy {@code never} or {@code on-failure}) is
     * started again this way, as {@code pm2 restart} does. Blocks the caller as {@link #scale(int)} does.
     *
     * @return the new worker's id
     * @throws FleetExceptions.NoSuchWorkerException when no worker has that id
     * @throws FleetExceptions.FleetConflictException when the worker is neither READY nor EXITED, is being replaced
     *         already, or a reload runs
     * @throws FleetExceptions.CannotStartException when the new worker's program cannot be started
     * @throws FleetExceptions.SupervisorBusyException when the supervisor did not take the command in time
     */
    public int replace(int workerId) {
        return call(new SupervisorEvent.Replace(workerId, new CommandReply<>()));
    }

    /**
     * Sends a signal to a worker's process tree without draining it, as kill(1) would: a crash drill, after which
     * the worker is restarted as after a crash. Blocks the caller as {@link #scale(int)} does.
     *
     * @param signal the signal's name without {@code SIG}: {@code TERM} or {@code KILL}
     * @throws FleetExceptions.NoSuchWorkerException when no worker has that id
     * @throws FleetExceptions.FleetConflictException when the worker has no process now
     * @throws FleetExceptions.SupervisorBusyException when the supervisor did not take the command in time
     */
    public void kill(int workerId, String signal) {
        call(new SupervisorEvent.Kill(workerId, signal, new CommandReply<>()));
    }

    /**
     * Sends a signal that is not meant to stop it to one worker's process, its own and not its descendants' (as
     * {@code pm2 sendSignal} and {@code docker kill --signal} do): the app acts on it and keeps serving. A worker that
     * does not handle it and exits is restarted as after any exit, its reason saying the signal ended it. Blocks the
     * caller as {@link #scale(int)} does.
     *
     * @param signal one of {@link dev.shepherd.SignalNames#REQUESTS}
     * @throws FleetExceptions.NoSuchWorkerException when no worker has that id
     * @throws FleetExceptions.FleetConflictException when the worker has no process now
     * @throws FleetExceptions.SupervisorBusyException when the supervisor did not take the command in time
     */
    public void signal(int workerId, String signal) {
        call(new SupervisorEvent.Signal(workerId, signal, new CommandReply<>()));
    }

    /**
     * As {@link #signal(int, String)}, to every worker that has a running process now.
     *
     * @return the ids of the workers it was sent to, lowest first
     * @throws FleetExceptions.FleetConflictException when no worker has a process now
     */
    public java.util.List<Integer> signalAll(String signal) {
        return call(new SupervisorEvent.Signal(null, signal, new CommandReply<>()));
    }

    @Override
    public void start() {
        log.info("Starting a fleet of {}{}", Plural.of(supervisor.desired, "worker"),
                properties.worker().command().isEmpty() ? " (built-in demo worker)" : ": " + Secrets.command(properties.worker().command()));
        running = true;
        loop.post(new SupervisorEvent.Started());
        loop.every(new SupervisorEvent.RoundDue(SupervisorEvent.Round.LIVENESS), properties.liveness().interval());
        loop.every(new SupervisorEvent.RoundDue(SupervisorEvent.Round.TREE_SCAN), properties.worker().treeScanInterval());
        if (properties.worker().maxMemory() != null || properties.worker().maxRequests() > 0) {
            loop.every(new SupervisorEvent.RoundDue(SupervisorEvent.Round.RECYCLE), properties.worker().recycleCheckInterval());
        }
    }

    /**
     * Releases {@code fleet.state-file}'s lock, after the last state was written ({@link #stop}), and
     * {@code fleet.worker.log-directory}'s, after the workers' last lines; also Spring's destroy method, for a context
     * whose start failed. Idempotent.
     */
    public void close() {
        if (stateLock != null) {
            stateLock.close();
        }
        if (logDirectoryLock != null) {
            logDirectoryLock.close();
        }
    }

    /**
     * The context begins to close, before any bean stops (the proxy drains first, for up to
     * {@code fleet.worker.drain-timeout}): the supervisor stops a running reload now, not when the fleet's own turn
     * comes.
     */
    @EventListener(ContextClosedEvent.class)
    public void stopBegins() {
        if (running) {
            supervisor.stopBegins();
            loop.post(new SupervisorEvent.StopBegun());
        }
    }

    @Override
    public void stop() {
        try {
            FleetShutdown.run(properties, loop, supervisor);
        } finally {
            running = false;
            probeExecutor.shutdownNow();
            state.close();
            close();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }

    /**
     * Posts a command to the supervisor and waits for its result, rethrowing its exception; a command the supervisor
     * has not begun within {@link #COMMAND_TIMEOUT} is withdrawn ({@link CommandReply#await}).
     */
    private <T> T call(SupervisorEvent.Command<T> command) {
        loop.post(command);
        return ((CommandReply<T>) command.reply()).await(COMMAND_TIMEOUT, CommandReply.UNDER_WAY_TIMEOUT);
    }
}
