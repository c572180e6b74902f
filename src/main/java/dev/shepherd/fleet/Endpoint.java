package dev.shepherd.fleet;

import dev.shepherd.worker.ProcFs;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The proxy's handle on one worker process: where it listens and how many requests it is serving.
 *
 * <p>Thread-safe and lock-free; the proxy uses it from its event loops. The in-flight count is exact: a request
 * is counted ({@link #tryAcquire}) before the proxy checks that the worker still accepts traffic, and the fleet
 * stops the traffic ({@link #stopAccepting}) before it reads the count, so a drain never misses a request. With a
 * concurrency limit ({@code fleet.worker.max-concurrency}) the count never goes above it: a request is counted in
 * only by a compare-and-set from below the limit, and every request counted out tells the fleet's slot listeners.
 */
public final class Endpoint {

    /**
     * A connection through the proxy to this worker that switched protocols (a WebSocket after {@code 101}): it no
     * longer carries requests, so the fleet counts it apart and, when the worker drains or dies, asks it to end.
     */
    public interface Tunnel {

        /**
         * Closes the tunnel at a random moment within {@code spread} from now (at once when zero). Any thread;
         * asking twice keeps the earlier moment.
         */
        void goAway(Duration spread);
    }

    /** Connection refusals in a row that take a worker out of rotation until its next good probe. */
    static final int EJECT_AFTER_REFUSALS = 3;

    /**
     * How long the proxy or the fleet waits, past a tunnel drain window, for the tunnels it then told to go away at
     * once (a timer can run late on a busy event loop): a tunnel counts as ended once its close frames are written
     * to its connections, before its worker is stopped or the proxy closes them.
     */
    public static final Duration TUNNEL_CLOSE_WAIT = Duration.ofMillis(500);

    private final int workerId;
    /** The worker's stable index (slot), 0..N-1; 0 for endpoints made without one. */
    private final int index;
    private final long pid;
    private final int port;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder served = new LongAdder();
    /** Final responses with a status below 500 ({@link #answered}): the sign of life liveness accepts. */
    private final LongAdder answersNot5xx = new LongAdder();
    private final AtomicInteger refusalsInARow = new AtomicInteger();
    private final Runnable onEjected;
    /** Failed answers in a row that make the worker an outlier ({@link #watchOutliers}); 0: not watched. */
    private int outlierThreshold;
    private Runnable onOutlier = () -> { };
    private final AtomicInteger failuresInARow = new AtomicInteger();
    /** The fleet has been told of this run of failures and has not answered yet ({@link #outlierJudged}). */
    private final AtomicBoolean outlierReported = new AtomicBoolean();
    /** Out of rotation as an outlier (alive and READY, back after its ejection time): its sticky sessions stay bound. */
    private volatile boolean ejectedAsOutlier;
    private final LongSupplier nanoTime;
    private final ProcessHandle process;
    /** The most requests in flight at once; 0: no limit. */
    private final int maxConcurrency;
    private final Runnable onSlotFreed;
    /** In the proxy's rotation: set by the fleet, cleared by the fleet or by the proxy's {@link #eject}. */
    private final AtomicBoolean accepting = new AtomicBoolean();
    /**
     * Out of rotation but draining: still takes the requests of its sticky sessions ({@link #tryAcquireSticky})
     * until its in-flight count first reaches zero ({@link #drained}), half its drain is over ({@link #endSticky})
     * or it is stopped.
     */
    private volatile boolean draining;
    private volatile boolean everInRotation;
    /** The worker sent bytes nobody asked for on one of its connections ({@link #markOutOfStep}). */
    private final AtomicBoolean outOfStep = new AtomicBoolean();
    /** The worker answered what a request body held ({@link #markAnsweredBody}). */
    private final AtomicBoolean answeredBody = new AtomicBoolean();
    private final Set<Tunnel> tunnels = ConcurrentHashMap.newKeySet();
    /** Who waits for the process's exit ({@link #whenExited}), and whether its exit is watched yet. */
    private final Set<Runnable> exitWaiters = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean exitWatched = new AtomicBoolean();
    private final AtomicInteger tunnelCount = new AtomicInteger();
    /**
     * Once set (the worker drains or died), the moment ({@code nanoTime}) by which every tunnel, even one opened
     * after, has gone away: the fleet stops the worker then.
     */
    private final AtomicReference<Long> tunnelsEndBy = new AtomicReference<>();

    Endpoint(int workerId, ProcessHandle process, int port, Runnable onEjected) {
        this(workerId, 0, process, port, 0, onEjected, () -> { }, System::nanoTime);
    }

    /** @param index the worker's stable index (slot, {@code SHEPHERD_WORKER_INDEX}), which sticky sessions name */
    Endpoint(int workerId, int index, ProcessHandle process, int port, int maxConcurrency, Runnable onEjected,
             Runnable onSlotFreed) {
        this(workerId, index, process, port, maxConcurrency, onEjected, onSlotFreed, System::nanoTime);
    }

    /**
     * @param maxConcurrency the most requests in flight at once; 0: no limit
     * @param onSlotFreed called on the releasing thread each time a request is counted out, when there is a limit
     */
    Endpoint(int workerId, ProcessHandle process, int port, int maxConcurrency, Runnable onEjected, Runnable onSlotFreed) {
        this(workerId, 0, process, port, maxConcurrency, onEjected, onSlotFreed, System::nanoTime);
    }

    /**
     * @param index the worker's stable index (slot, {@code SHEPHERD_WORKER_INDEX}), which sticky sessions name
     * @param nanoTime the clock the tunnels' drain window is measured on ({@link System#nanoTime} but in tests)
     */
    Endpoint(int workerId, int index, ProcessHandle process, int port, int maxConcurrency, Runnable onEjected,
             Runnable onSlotFreed, LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        this.workerId = workerId;
        this.index = index;
        this.pid = process.pid();
        this.process = process;
        this.port = port;
        this.maxConcurrency = maxConcurrency;
        this.onEjected = onEjected;
        this.onSlotFreed = onSlotFreed;
    }

    /**
     * Watches the worker's answers for outlier detection (Envoy's {@code consecutive_5xx}): {@code threshold} final
     * responses with a 5xx status or failed attempts in a row on the live process, with no other answer between, call
     * {@code onOutlier} once, on the proxy's thread, until the fleet {@linkplain #outlierJudged judges} the run. Called
     * before the endpoint is published to the proxy; not at all when the detection is off.
     */
    Endpoint watchOutliers(int threshold, Runnable onOutlier) {
        this.outlierThreshold = threshold;
        this.onOutlier = onOutlier;
        return this;
    }

    /**
     * Marks the worker as one that sent bytes on a connection while no request was outstanding there (a late second
     * response): its connections are no longer reused ({@code UpstreamPool}), so whatever it sends late goes with a
     * connection that carries nothing more. Lasts as long as this process. Not for a connection that carried a request
     * body ({@link #markAnsweredBody}). Any thread.
     *
     * @return true the first time only
     */
    public boolean markOutOfStep() {
        return !outOfStep.get() && outOfStep.compareAndSet(false, true);
    }

    /**
     * Notes that the worker sent bytes nobody asked for on a connection that carried a request body: what it made of
     * a body it did not read (a request smuggled in it). Unlike {@link #markOutOfStep} it changes nothing: such a
     * connection is only ever reused by the client that sent the body, and it is closed. Any thread.
     *
     * @return true the first time only (to say it once per worker process)
     */
    public boolean markAnsweredBody() {
        return !answeredBody.get() && answeredBody.compareAndSet(false, true);
    }

    /** Whether the worker was {@linkplain #markOutOfStep marked} as sending bytes nobody asked for. Any thread. */
    public boolean outOfStep() {
        return outOfStep.get();
    }

    public int workerId() {
        return workerId;
    }

    /** The worker's stable index (slot), 0..N-1: a replacement or a reload's new worker takes its predecessor's. */
    public int index() {
        return index;
    }

    public long pid() {
        return pid;
    }

    public int port() {
        return port;
    }

    /**
     * Counts a request in; false (and nothing counted) when the worker no longer takes traffic or already has
     * {@link #maxConcurrency()} requests in flight. Lock-free, any thread.
     */
    public boolean tryAcquire() {
        return tryAcquire(false);
    }

    /**
     * Counts in a request of a sticky session bound to this worker: like {@link #tryAcquire}, and also while the
     * worker drains, until the drain ends ({@link #drained}). Lock-free, any thread.
     */
    public boolean tryAcquireSticky() {
        return tryAcquire(true);
    }

    /** Whether the worker is out of rotation but still takes its sticky sessions' requests. */
    public boolean isDraining() {
        return draining;
    }

    private boolean tryAcquire(boolean sticky) {
        if (maxConcurrency == 0) {
            inFlight.incrementAndGet();
        } else if (!acquireBelowLimit()) {
            return false;
        }
        if (accepting.get() || sticky && draining) {
            return true;
        }
        inFlight.decrementAndGet();
        if (maxConcurrency != 0 && (accepting.get() || draining)) {
            // A waiter may have found the worker full because of this count: taken back into rotation meanwhile, or
            // draining, whose sticky waiters would otherwise wait for the drain's end and lose their worker. The
            // proxy checks isAccepting() before counting (WorkerChoice, Router.pick), so this count came from a try
            // that raced the worker leaving the rotation, and a dispatch woken here does not try it again.
            onSlotFreed.run();
        }
        return false;
    }

    private boolean acquireBelowLimit() {
        while (true) {
            int current = inFlight.get();
            if (current >= maxConcurrency) {
                return false;
            }
            if (inFlight.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /**
     * Counts a request out; {@code completed} when the worker answered it. With a concurrency limit, then tells the
     * slot listeners (on this thread), so that a request waiting for a free worker can take the slot.
     */
    public void release(boolean completed) {
        inFlight.decrementAndGet();
        if (completed) {
            served.increment();
        }
        if (maxConcurrency != 0) {
            onSlotFreed.run();
        }
    }

    /** Whether another request may be counted in now, as far as the concurrency limit goes. */
    public boolean hasFreeSlot() {
        return maxConcurrency == 0 || inFlight.get() < maxConcurrency;
    }

    /** The most requests this worker may have in flight at once ({@code fleet.worker.max-concurrency}); 0: no limit. */
    public int maxConcurrency() {
        return maxConcurrency;
    }

    public boolean isAccepting() {
        return accepting.get();
    }

    public int inFlight() {
        return inFlight.get();
    }

    public long requests() {
        return served.sum();
    }

    /**
     * The worker refused a connection. A dead process leaves the rotation at once (before the fleet has handled
     * its exit); a live one after a few refusals in a row, until a probe succeeds. Either way the fleet hears of
     * it, once, so that its snapshot counts what the proxy routes to.
     *
     * @return whether the worker is out of rotation now
     */
    public boolean connectRefused() {
        if (exited()) {
            draining = false;
            eject();
        } else if (refusalsInARow.incrementAndGet() >= EJECT_AFTER_REFUSALS) {
            eject();
        }
        return !accepting.get();
    }

    /**
     * A request failed on a connection to this worker (not sent, reset, timed out). A dead process leaves the rotation
     * at once, before its exit is reaped, so that no retry goes back to it; the fleet hears of it. A live one's
     * failure counts towards outlier detection, as a 5xx does.
     */
    public void attemptFailed() {
        if (!leftIfExited()) {
            answeredWith(true);
        }
    }

    /**
     * Asked again after a failed attempt, once the request was answered elsewhere: a process that has exited since
     * leaves the rotation ({@link #attemptFailed} without counting the failure twice).
     */
    public void recheckExited() {
        leftIfExited();
    }

    private boolean leftIfExited() {
        if (!exited()) {
            return false;
        }
        if (accepting.get() || draining) {
            draining = false;
            eject();
        }
        return true;
    }

    /**
     * The final response to an attempt on this worker arrived with {@code status} (a {@code 101} included): a 5xx
     * counts towards outlier detection, anything else ends the run. The proxy's thread, once per attempt.
     */
    public void answered(int status) {
        if (status < 500) {
            answersNot5xx.increment();
        }
        answeredWith(status >= 500);
    }

    /**
     * Final responses below 500 this worker has given through the proxy: one that answers, and not with server
     * errors, is alive, whatever its liveness probe says. Any thread.
     */
    public long answersNot5xx() {
        return answersNot5xx.sum();
    }

    private void answeredWith(boolean failure) {
        if (outlierThreshold == 0) {
            return;
        }
        if (!failure) {
            if (failuresInARow.get() != 0) {
                failuresInARow.set(0);
            }
        } else if (failuresInARow.incrementAndGet() >= outlierThreshold && outlierReported.compareAndSet(false, true)) {
            onOutlier.run();
        }
    }

    /**
     * Out of rotation as an outlier for now: READY and alive, back after its ejection time, so that a sticky session
     * bound to it, served elsewhere meanwhile, stays bound to it. Any thread.
     */
    public boolean isEjectedAsOutlier() {
        return ejectedAsOutlier;
    }

    /** Failed answers in a row now (outlier detection). */
    int failuresInARow() {
        return failuresInARow.get();
    }

    /**
     * The fleet has judged a reported run of failures: {@code ejected}, out of rotation until {@link #startAccepting};
     * else the run starts over, and another {@code threshold} failures report it again.
     */
    void outlierJudged(boolean ejected) {
        failuresInARow.set(0);
        if (ejected) {
            ejectedAsOutlier = true;
            accepting.set(false);
        } else {
            outlierReported.set(false);
        }
    }

    /**
     * Whether the worker's process has exited, reaped or not yet (a zombie: the JDK's {@link ProcessHandle#isAlive}
     * is true until the reaping, while a killed process has reset its connections already). A dying process resets
     * them a moment before it becomes one, so a failed attempt can still come a little before this turns true. Reads
     * {@code /proc}: for failure paths only.
     */
    public boolean exited() {
        return !process.isAlive() || ProcFs.exitedNotReaped(pid);
    }

    /**
     * Calls {@code onExit} once when the worker's process has exited: on a thread of the JDK's common pool, where
     * {@link ProcessHandle#onExit} completes at its reaping, or at once on the caller's thread when it has exited
     * already ({@link #exited}: reaped or not). {@code onExit} must be short and must not throw (hand the work to an
     * event loop). Returns what takes the call back; after that, or after the call, it does nothing. Lock-free:
     * waiters are a concurrent set, and the process's exit is watched once per endpoint, from the first waiter on. A
     * process whose exit cannot be watched (the JVM's own, as some tests use) never calls back: the caller's own
     * deadline decides.
     */
    public Runnable whenExited(Runnable onExit) {
        if (exitWatched.compareAndSet(false, true)) {
            try {
                process.onExit().whenComplete((handle, error) -> exitWaiters.forEach(this::callExitWaiter));
            } catch (IllegalStateException ownProcess) {
                // ProcessHandle.current(): it cannot exit while anyone could be told.
            }
        }
        exitWaiters.add(onExit);
        if (exited()) {
            // The exit may have come between the add and the watcher's pass over the set: the set's removal decides
            // who calls it, so it is called once either way.
            callExitWaiter(onExit);
        }
        return () -> exitWaiters.remove(onExit);
    }

    private void callExitWaiter(Runnable waiter) {
        if (exitWaiters.remove(waiter)) {
            waiter.run();
        }
    }

    /** Out of rotation by the proxy's decision; the first of racing callers tells the fleet, on its own thread. */
    private void eject() {
        if (accepting.compareAndSet(true, false)) {
            onEjected.run();
        }
    }

    /**
     * Counts a tunnel in. One that opens after the worker began draining (its upgrade was answered in the meantime)
     * is asked to go away at once, within what is left of the drain's window.
     */
    public void tunnelOpened(Tunnel tunnel) {
        tunnels.add(tunnel);
        tunnelCount.incrementAndGet();
        Long endBy = tunnelsEndBy.get();
        if (endBy != null) {
            tunnel.goAway(Duration.ofNanos(Math.max(0, endBy - nanoTime.getAsLong())));
        }
    }

    /** Counts a tunnel out; once per tunnel. */
    public void tunnelClosed(Tunnel tunnel) {
        if (tunnels.remove(tunnel)) {
            tunnelCount.decrementAndGet();
        }
    }

    /** Tunnels open to this worker now. */
    public int tunnels() {
        return tunnelCount.get();
    }

    /**
     * Asks every tunnel of this worker, open now or opened later, to close within {@code spread} (zero: at once),
     * each at a moment of its own. Any thread.
     */
    public void closeTunnels(Duration spread) {
        long now = nanoTime.getAsLong();
        // Asked again (a drain, then the exit), the earlier end stands.
        long endBy = tunnelsEndBy.accumulateAndGet(now + spread.toNanos(),
                (current, asked) -> current == null || asked - current < 0 ? asked : current);
        Duration within = Duration.ofNanos(Math.max(0, endBy - now));
        for (Tunnel tunnel : tunnels) {
            tunnel.goAway(within);
        }
    }

    public void connected() {
        if (refusalsInARow.get() != 0) {
            refusalsInARow.set(0);
        }
    }

    void startAccepting() {
        refusalsInARow.set(0);
        failuresInARow.set(0);
        outlierReported.set(false);
        ejectedAsOutlier = false;
        everInRotation = true;
        accepting.set(true);
    }

    /** Whether the worker was ever in the proxy's rotation (READY once): one that never was served nobody. */
    boolean everInRotation() {
        return everInRotation;
    }

    /** Out of rotation, and no more sticky requests either: the worker is stopping, or it died. */
    void stopAccepting() {
        ejectedAsOutlier = false;
        accepting.set(false);
        draining = false;
    }

    /**
     * Out of rotation, but its sticky sessions' requests still come until {@link #drained}; not for a worker the proxy
     * had ejected (it refused connections), whose sessions went to normal balancing already and would only meet
     * refusals there again.
     */
    void startDraining() {
        // draining first: a sticky request never finds both false while a worker in rotation starts its drain.
        draining = true;
        if (!accepting.getAndSet(false)) {
            draining = false;
        }
    }

    /**
     * A draining worker takes no more sticky requests, while those in flight finish ({@link Drains}: the second half
     * of a drain). Their sessions go to normal balancing; requests that waited for this worker are woken to go there.
     * The supervisor's thread.
     */
    void endSticky() {
        draining = false;
        if (maxConcurrency != 0) {
            onSlotFreed.run();
        }
    }

    /**
     * Whether a draining worker has no request in flight; once it has none, it takes no more sticky requests
     * either. Exact like {@link #tryAcquire}: admission ends before the count is read again, so a request counted in
     * meanwhile is seen. The supervisor's thread.
     */
    boolean drained() {
        if (inFlight.get() != 0) {
            return false;
        }
        draining = false;
        return inFlight.get() == 0;
    }

    @Override
    public String toString() {
        return "worker " + workerId + " (pid " + pid + ", port " + port + ")";
    }
}
