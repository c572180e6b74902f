package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Picks the worker for each attempt: round-robin per request over the READY workers of the current snapshot,
 * lock-free. When none is READY, requests wait here (bounded in count) until one is.
 */
final class Router {

    /** A request waiting for a READY worker or a fleet change; {@link #claim()} makes sure it is woken or timed out, not both. */
    static final class Waiter {
        private final Runnable onAvailable;
        private final AtomicBoolean claimed = new AtomicBoolean();

        Waiter(Runnable onAvailable) {
            this.onAvailable = onAvailable;
        }

        boolean claim() {
            return claimed.compareAndSet(false, true);
        }
    }

    private final WorkerFleetService fleet;
    private final AtomicInteger next = new AtomicInteger();
    private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Waiter> changeWaiters = new ConcurrentLinkedQueue<>();
    private final AtomicInteger waiting = new AtomicInteger();
    private final int queueLimit;
    private final java.util.function.Consumer<FleetSnapshot> listener = this::onSnapshot;

    Router(WorkerFleetService fleet, int queueLimit) {
        this.fleet = fleet;
        this.queueLimit = queueLimit;
        fleet.onSnapshot(listener);
    }

    /** Stops listening to the fleet: the proxy is shutting down. */
    void close() {
        fleet.removeSnapshotListener(listener);
    }

    /**
     * The next READY worker with the request already counted in its in-flight, or null when none is READY.
     * {@code avoid} (the worker that just failed) is skipped when another one is READY.
     */
    Endpoint pick(Endpoint avoid) {
        Endpoint[] ready = fleet.snapshot().ready();
        int count = ready.length;
        for (int tries = 0; tries < count; tries++) {
            Endpoint endpoint = ready[index(next.getAndIncrement(), count)];
            if ((endpoint != avoid || count == 1) && endpoint.tryAcquire()) {
                return endpoint;
            }
        }
        return avoid != null && avoid.tryAcquire() ? avoid : null;
    }

    /**
     * The READY worker with the fewest open tunnels, counted in; ties go round-robin. Tunnels live for hours, so
     * round-robin over them would pile them up on the oldest workers. Null when none is READY.
     */
    Endpoint pickForTunnel() {
        Endpoint[] ready = fleet.snapshot().ready();
        int count = ready.length;
        for (int tries = 0; tries < count; tries++) {
            int start = next.getAndIncrement();
            Endpoint best = null;
            for (int i = 0; i < count; i++) {
                Endpoint candidate = ready[index(start + i, count)];
                if (candidate.isAccepting() && (best == null || candidate.tunnels() < best.tunnels())) {
                    best = candidate;
                }
            }
            if (best == null) {
                return null;
            }
            if (best.tryAcquire()) {
                return best;
            }
        }
        return null;
    }

    /** The next READY worker that is not in {@code tried}, counted in; null when every READY worker is. */
    Endpoint pickUntried(List<Endpoint> tried) {
        Endpoint[] ready = fleet.snapshot().ready();
        int count = ready.length;
        for (int attempt = 0; attempt < count; attempt++) {
            Endpoint endpoint = ready[index(next.getAndIncrement(), count)];
            if (!tried.contains(endpoint) && endpoint.tryAcquire()) {
                return endpoint;
            }
        }
        return null;
    }

    /** Whether any worker takes traffic now. */
    boolean hasReady() {
        return hasAccepting(fleet.snapshot());
    }

    /** The version of the current fleet snapshot, to hand to {@link #awaitChange} later. */
    long version() {
        return fleet.snapshot().version();
    }

    /**
     * READY workers the proxy has taken out of rotation itself (a dead process, refusals) stay in the snapshot
     * until the fleet publishes the next one: waking waiters for those would only send them round again.
     */
    private static boolean hasAccepting(FleetSnapshot snapshot) {
        for (Endpoint endpoint : snapshot.ready()) {
            if (endpoint.isAccepting()) {
                return true;
            }
        }
        return false;
    }

    /** Round-robin position that stays in range when the counter wraps past Integer.MAX_VALUE. */
    static int index(int counter, int count) {
        return (counter & Integer.MAX_VALUE) % count;
    }

    /** Queues a request until a worker is READY; null when the queue is full. */
    Waiter await(Runnable onAvailable) {
        if (waiting.incrementAndGet() > queueLimit) {
            waiting.decrementAndGet();
            return null;
        }
        Waiter waiter = new Waiter(onAvailable);
        waiters.add(waiter);
        if (hasAccepting(fleet.snapshot())) {
            wakeAll();
        }
        return waiter;
    }

    /** Takes a timed-out waiter out of the queue; false when it was woken first. */
    boolean cancel(Waiter waiter) {
        if (!waiter.claim()) {
            return false;
        }
        waiters.remove(waiter);
        waiting.decrementAndGet();
        return true;
    }

    /**
     * Calls {@code onChange} once, at the first snapshot of the fleet after {@code seenVersion}, whatever it holds:
     * a worker exited, left or joined the rotation. At once when one was already published. Not counted against
     * the queue limit; {@link #cancelChange} takes it back.
     */
    Waiter awaitChange(long seenVersion, Runnable onChange) {
        Waiter waiter = new Waiter(onChange);
        changeWaiters.add(waiter);
        if (fleet.snapshot().version() != seenVersion && waiter.claim()) {
            changeWaiters.remove(waiter);
            onChange.run();
        }
        return waiter;
    }

    /** Takes back a change waiter; false when it was already called. */
    boolean cancelChange(Waiter waiter) {
        if (!waiter.claim()) {
            return false;
        }
        changeWaiters.remove(waiter);
        return true;
    }

    int waiting() {
        return waiting.get();
    }

    private void onSnapshot(FleetSnapshot snapshot) {
        Waiter changed;
        while ((changed = changeWaiters.poll()) != null) {
            if (changed.claim()) {
                changed.onAvailable.run();
            }
        }
        if (!waiters.isEmpty() && hasAccepting(snapshot)) {
            wakeAll();
        }
    }

    private void wakeAll() {
        Waiter waiter;
        while ((waiter = waiters.poll()) != null) {
            if (waiter.claim()) {
                waiting.decrementAndGet();
                waiter.onAvailable.run();
            }
        }
    }
}
