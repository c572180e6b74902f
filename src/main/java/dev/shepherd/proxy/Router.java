package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Picks the worker for each attempt over the READY workers of the current snapshot, lock-free and without
 * allocating: round-robin, or least-request ({@link Balancer}). When no worker can take a request (none is READY,
 * or every one is at {@code fleet.worker.max-concurrency}), requests wait in a bounded {@link WaitQueue}, in
 * arrival order, and a new request does not go past them.
 */
final class Router {

    /**
     * A request waiting for a worker (queued) or for a fleet change. It is either claimed ({@link #claim()}: called
     * once, cancelled or timed out) or, when queued, granted a worker that is already counted in for it and that
     * its owner takes with {@link #takeGrant()}: never two of these.
     */
    static final class Waiter {
        private static final Object CLAIMED = new Object();
        private static final Object TAKEN = new Object();
        private final Runnable onAvailable;
        private final int slot;
        private final boolean upgrade;
        private final long arrival;
        /** null while waiting; then CLAIMED, or the granted Endpoint and later TAKEN. */
        private final AtomicReference<Object> state = new AtomicReference<>();

        Waiter(Runnable onAvailable) {
            this(onAvailable, -1, false, 0);
        }

        /**
         * @param slot the sticky slot whose worker the request waits for; negative: any worker
         * @param upgrade whether the request is a WebSocket handshake
         * @param arrival the order in which waiters joined the queue: oldest first
         */
        Waiter(Runnable onAvailable, int slot, boolean upgrade, long arrival) {
            this.onAvailable = onAvailable;
            this.slot = slot;
            this.upgrade = upgrade;
            this.arrival = arrival;
        }

        int slot() {
            return slot;
        }

        boolean upgrade() {
            return upgrade;
        }

        long arrival() {
            return arrival;
        }

        boolean claim() {
            return state.compareAndSet(null, CLAIMED);
        }

        boolean grant(Endpoint endpoint) {
            return state.compareAndSet(null, endpoint);
        }

        boolean waiting() {
            return state.get() == null;
        }

        /** The worker granted to this waiter, counted in for it, once; null when none was granted or it was taken. */
        Endpoint takeGrant() {
            Object granted = state.get();
            return granted instanceof Endpoint endpoint && state.compareAndSet(endpoint, TAKEN) ? endpoint : null;
        }

        void run() {
            onAvailable.run();
        }
    }

    private final WorkerFleetService fleet;
    private final WorkerChoice choice;
    private final WaitQueue queue;
    private final ConcurrentLinkedQueue<Waiter> changeWaiters = new ConcurrentLinkedQueue<>();
    private final Consumer<FleetSnapshot> listener = this::onSnapshot;
    private final Runnable slotListener;

    Router(WorkerFleetService fleet, int queueLimit, Balancer balancer) {
        this.fleet = fleet;
        this.choice = new WorkerChoice(balancer);
        this.queue = new WaitQueue(queueLimit, new WaitQueue.Workers() {
            @Override
            public Endpoint any() {
                return choose(null, null);
            }

            @Override
            public Endpoint slot(int slot, boolean upgrade) {
                FleetSnapshot snapshot = fleet.snapshot();
                Endpoint endpoint = StickySlots.pick(snapshot, slot, false, upgrade);
                return endpoint != null || StickySlots.keeps(snapshot, slot, upgrade) ? endpoint : any();
            }
        });
        this.slotListener = queue::dispatch;
        fleet.onSnapshot(listener);
        fleet.onSlotFreed(slotListener);
    }

    /** Stops listening to the fleet: the proxy is shutting down. */
    void close() {
        fleet.removeSnapshotListener(listener);
        fleet.removeSlotListener(slotListener);
    }

    /**
     * The next READY worker with the request already counted in its in-flight, or null when none can take it (or,
     * for a new request, {@code avoid} null, when requests are queued: it queues behind them). {@code avoid} (the
     * worker that just failed) is skipped when another one can take the request.
     */
    Endpoint pick(Endpoint avoid) {
        if (avoid == null && queue.hasSharedWaiters()) {
            return null;
        }
        Endpoint picked = choose(avoid, null);
        // Checked before counting, as balancing does: no count taken back on a worker that left the rotation.
        return picked != null || avoid == null ? picked : avoid.isAccepting() && avoid.tryAcquire() ? avoid : null;
    }

    /**
     * The worker of sticky slot {@code slot}, counted in ({@link StickySlots}); null when there is none, its READY
     * worker is full, or requests are queued that it must not go past (waiting for any worker, or for this slot's:
     * {@link #slotWaits} then says whether to queue for the slot). {@code upgrade}: a WebSocket handshake, which does
     * not go to a draining worker.
     */
    Endpoint pickSlot(int slot, boolean upgrade) {
        return StickySlots.pick(fleet.snapshot(), slot, slot >= 0 && queue.mustQueue(slot), upgrade);
    }

    /**
     * Whether a request of sticky slot {@code slot} that {@link #pickSlot} did not place waits for the slot's worker
     * (READY but full, or draining) rather than going to another one ({@link StickySlots#keeps}).
     */
    boolean slotWaits(int slot, boolean upgrade) {
        return StickySlots.keeps(fleet.snapshot(), slot, upgrade);
    }

    /**
     * Whether a session bound to sticky slot {@code slot} stays bound after another worker served it: the slot still
     * has a worker that takes its requests, or one out of rotation only for now ({@link StickySlots#keepsBinding}).
     */
    boolean slotKeeps(int slot) {
        return StickySlots.keepsBinding(fleet.snapshot(), slot);
    }

    /**
     * The READY worker with the fewest open tunnels, counted in; ties go round-robin. Tunnels live for hours, so
     * round-robin over them would pile them up on the oldest workers. Null when none is READY.
     */
    Endpoint pickForTunnel() {
        return choice.fewestTunnels(fleet.snapshot().ready());
    }

    /** The next READY worker that is not in {@code tried}, counted in; null when every READY worker is, or is full. */
    Endpoint pickUntried(List<Endpoint> tried) {
        return choose(null, tried);
    }

    private Endpoint choose(Endpoint avoid, List<Endpoint> tried) {
        return choice.choose(fleet.snapshot().ready(), avoid, tried);
    }

    /** Whether any worker takes traffic now (it may be at its concurrency limit). */
    boolean hasReady() {
        return hasAccepting(fleet.snapshot());
    }

    /** Whether a worker that takes traffic, and is not in {@code tried}, is at its concurrency limit now. */
    boolean untriedIsFull(List<Endpoint> tried) {
        for (Endpoint endpoint : fleet.snapshot().ready()) {
            if (endpoint.isAccepting() && !endpoint.hasFreeSlot() && !tried.contains(endpoint)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Why a request waits: its sticky session's worker ({@code slot}, negative: none) is at its concurrency limit,
     * no worker is READY, or every READY worker is at its limit.
     */
    String whyWaiting(int slot, boolean upgrade) {
        if (slot >= 0 && slotWaits(slot, upgrade)) {
            return "the worker of the request's sticky session has fleet.worker.max-concurrency requests in flight";
        }
        return hasReady() ? "every READY worker has fleet.worker.max-concurrency requests in flight"
                : "no worker is READY";
    }

    /** Why a request waited in vain: its session's worker or none of the READY ones freed up, or none became READY. */
    String whyWaitedInVain(int slot, boolean upgrade) {
        if (slot >= 0 && slotWaits(slot, upgrade)) {
            return "the worker of the request's sticky session had no free slot (fleet.worker.max-concurrency)";
        }
        return hasReady() ? "no READY worker had a free slot (fleet.worker.max-concurrency)" : "no worker became READY";
    }

    /** The version of the current fleet snapshot, to hand to {@link #awaitChange} later. */
    long version() {
        return fleet.snapshot().version();
    }

    /**
     * READY workers the proxy has taken out of rotation itself (a dead process, refusals) stay in the snapshot
     * until the fleet publishes the next one: they do not count.
     */
    private static boolean hasAccepting(FleetSnapshot snapshot) {
        for (Endpoint endpoint : snapshot.ready()) {
            if (endpoint.isAccepting()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Queues a request until a worker can take it (any, or with {@code slot} not negative the worker of that sticky
     * slot while {@link #slotWaits}); {@code onAvailable} then runs (on the thread that found the worker) and the
     * worker, counted in, is the waiter's {@link Waiter#takeGrant()}. Null when the queue is full. {@code upgrade}: a
     * WebSocket handshake. A request that waited before ({@code arrival}: its place in line then, 0: none) or whose
     * attempt failed on a worker ({@code retry}) keeps or gets a place ahead of new ones and is not turned away by
     * the queue limit ({@link WaitQueue#add}).
     */
    Waiter await(int slot, boolean upgrade, long arrival, boolean retry, Runnable onAvailable) {
        return queue.add(slot, upgrade, arrival, retry, onAvailable);
    }

    /** Takes a timed-out waiter out of the queue; false when it was granted a worker first. */
    boolean cancel(Waiter waiter) {
        return queue.cancel(waiter);
    }

    /** The waiting request is gone: takes it out of the queue, or gives back the worker it was granted. */
    void abandon(Waiter waiter) {
        queue.abandon(waiter);
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
        return queue.waiting();
    }

    private void onSnapshot(FleetSnapshot snapshot) {
        Waiter changed;
        while ((changed = changeWaiters.poll()) != null) {
            if (changed.claim()) {
                changed.run();
            }
        }
        queue.dispatch();
    }
}
