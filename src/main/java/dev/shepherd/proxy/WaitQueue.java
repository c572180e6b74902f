package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Requests waiting for a worker, served in arrival order: when no worker is READY, or when every READY worker is
 * at {@code fleet.worker.max-concurrency}; and requests of a sticky session whose own worker is at its limit, which
 * wait for that worker (HAProxy's per-server queue: a persistent request waits for its server, the others in the
 * backend's queue). Bounded in count ({@code fleet.proxy.queue-limit}), all queues together; lock-free.
 *
 * <p>A waiter is not woken to race for a worker: {@link #dispatch()} counts the request in on a worker first
 * and hands it that worker ({@link Router.Waiter#takeGrant()}), oldest waiter first, so a freed slot goes to the
 * oldest waiter that may take it and to nobody else: of the shared queue's oldest and each sticky slot's oldest,
 * the one that arrived first (HAProxy serves the older of its server and backend queues the same way). Dispatch
 * runs whenever something may have freed a worker (a request counted out of a limited worker, a new snapshot) and
 * whenever a waiter joins, each time after the change it reacts to, so one of the two always sees both the waiter
 * and the free worker: no wake-up is lost. Dispatches never overlap: a call made while another thread dispatches
 * only makes that thread go round once more (the queue-drain pattern of reactive streams' operators), so waiters
 * are granted one at a time, in order.
 *
 * <p>Each queue is kept in order of the waiters' places in line (a skip list keyed by them): a request whose
 * attempt failed on a worker goes back to its old place, or ahead of every new request when it had none, however
 * many come back at once (a dying worker's freed slot may be granted, and refused, several times in a row).
 */
final class WaitQueue {

    /** Where the workers granted to waiters come from; each is returned counted in, or null. Any thread. */
    interface Workers {

        /** A worker that can take a request now, or null when none can. */
        Endpoint any();

        /**
         * The worker of sticky slot {@code slot} when it can take the request now; null while it cannot but is
         * still the session's worker; {@link #any()} when the slot has no worker for its sessions any more.
         * {@code upgrade}: a WebSocket handshake.
         */
        Endpoint slot(int slot, boolean upgrade);
    }

    private final ConcurrentNavigableMap<Long, Router.Waiter> shared = new ConcurrentSkipListMap<>();
    /**
     * Each sticky slot's waiters. Keyed by worker indexes, which a fleet of at most {@code fleet.max-workers}
     * bounds (clients can only name indexes that exist: {@link StickySessions}); a slot's queue stays once made.
     */
    private final ConcurrentHashMap<Integer, ConcurrentNavigableMap<Long, Router.Waiter>> slots =
            new ConcurrentHashMap<>();
    /** Waiters neither granted nor cancelled: what the queue limit counts. */
    private final AtomicInteger waiting = new AtomicInteger();
    /** Of these, the ones in the shared queue: a new request that could take any worker goes behind them. */
    private final AtomicInteger sharedWaiting = new AtomicInteger();
    /**
     * Where new requests' places in line come from. A request whose attempt on a worker failed, and that must wait
     * now, arrived before all of them: its places come from {@link #retryArrivals}, below these.
     */
    private final AtomicLong arrivals = new AtomicLong(1L << 62);
    private final AtomicLong retryArrivals = new AtomicLong();
    /** Dispatch calls not yet gone round: non-zero while one thread dispatches. */
    private final AtomicInteger dispatches = new AtomicInteger();
    private final int limit;
    private final Workers workers;

    /** @param limit how many requests may wait at once, in all queues */
    WaitQueue(int limit, Workers workers) {
        this.limit = limit;
        this.workers = workers;
    }

    /**
     * Queues a request, for any worker ({@code slot} negative) or for the worker of sticky slot {@code slot};
     * {@code onGranted} runs once, on whichever thread dispatches, when a worker has been counted in for it. Null
     * when the queue is full. {@code arrival}: its place in line when it was here before (0: none); {@code retry}:
     * an attempt of it failed on a worker. A retry is not counted against the limit (it was let in once, and its
     * attempts are bounded) and goes ahead of the requests that are new to the queue: back to its old place when it
     * had one (it was given a worker that died before taking it, say), else ahead of them all, as it arrived before
     * any of them.
     */
    Router.Waiter add(int slot, boolean upgrade, long arrival, boolean retry, Runnable onGranted) {
        if (waiting.incrementAndGet() > limit && !retry) {
            waiting.decrementAndGet();
            return null;
        }
        long place = arrival != 0 ? arrival : retry ? retryArrivals.incrementAndGet() : arrivals.incrementAndGet();
        Router.Waiter waiter = new Router.Waiter(onGranted, slot, upgrade, place);
        if (slot < 0) {
            sharedWaiting.incrementAndGet();
        }
        queueOf(waiter).put(place, waiter);
        dispatch();
        return waiter;
    }

    /** Takes a waiter out before it is granted a worker; false when it was granted one first. */
    boolean cancel(Router.Waiter waiter) {
        if (!waiter.claim()) {
            return false;
        }
        queueOf(waiter).remove(waiter.arrival(), waiter);
        left(waiter);
        return true;
    }

    /**
     * The request is gone (its client closed): takes the waiter out, or, when it was granted a worker it has not
     * taken, gives that worker's slot back to the next waiter.
     */
    void abandon(Router.Waiter waiter) {
        if (cancel(waiter)) {
            return;
        }
        Endpoint granted = waiter.takeGrant();
        if (granted != null) {
            granted.release(false);
            dispatch();
        }
    }

    /** Whether a request waits for any worker: a new request then queues behind it instead of taking one first. */
    boolean hasSharedWaiters() {
        return sharedWaiting.get() != 0;
    }

    /**
     * Whether a new request of sticky slot {@code slot} must queue instead of taking its worker now: requests
     * wait for any worker (which may be given that one), or for this slot's.
     */
    boolean mustQueue(int slot) {
        if (waiting.get() == 0) {
            return false;
        }
        ConcurrentNavigableMap<Long, Router.Waiter> queue = slots.get(slot);
        return hasSharedWaiters() || queue != null && !queue.isEmpty();
    }

    int waiting() {
        return waiting.get();
    }

    /** Grants workers to waiters, oldest first, while a worker can take a request. Any thread. */
    void dispatch() {
        if (waiting.get() == 0 || dispatches.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        do {
            while (grantOne()) {
                // Each grant changes the queues' heads: look at them again.
            }
            missed = dispatches.addAndGet(-missed);
        } while (missed != 0);
    }

    /**
     * Grants one worker to the oldest waiter at the head of a queue that can have one now; false when none can.
     * The heads are tried oldest first, each once: a sticky slot's waiter whose worker is full does not hold up
     * a younger one that any worker can serve.
     */
    private boolean grantOne() {
        long tried = -1;
        while (true) {
            Router.Waiter next = oldestHeadAfter(tried);
            if (next == null) {
                return false;
            }
            tried = next.arrival();
            Endpoint endpoint = next.slot() < 0 ? workers.any() : workers.slot(next.slot(), next.upgrade());
            if (endpoint == null) {
                continue;
            }
            if (next.grant(endpoint)) {
                queueOf(next).remove(next.arrival(), next);
                left(next);
                next.run();
            } else {
                // Cancelled since it was looked at. Releasing calls dispatch() again, which only makes this loop
                // go round once more.
                endpoint.release(false);
            }
            return true;
        }
    }

    /** Of the queues' oldest waiters, the oldest that arrived after {@code arrival}; null when none did. */
    private Router.Waiter oldestHeadAfter(long arrival) {
        // Every sticky slot's queue, even when the counts say none waits there: they are not updated together,
        // and a shortcut on them could miss a waiter whose worker just freed up.
        Router.Waiter oldest = head(shared, arrival);
        for (ConcurrentNavigableMap<Long, Router.Waiter> queue : slots.values()) {
            Router.Waiter head = head(queue, arrival);
            if (head != null && (oldest == null || head.arrival() < oldest.arrival())) {
                oldest = head;
            }
        }
        return oldest;
    }

    /** The queue's oldest waiter still waiting, if it arrived after {@code arrival}; cancelled ones are taken out. */
    private static Router.Waiter head(ConcurrentNavigableMap<Long, Router.Waiter> queue, long arrival) {
        Map.Entry<Long, Router.Waiter> head;
        while ((head = queue.firstEntry()) != null && !head.getValue().waiting()) {
            // Cancelled or granted: whoever did it takes it out, perhaps not yet.
            queue.remove(head.getKey(), head.getValue());
        }
        return head != null && head.getKey() > arrival ? head.getValue() : null;
    }

    private ConcurrentNavigableMap<Long, Router.Waiter> queueOf(Router.Waiter waiter) {
        return waiter.slot() < 0 ? shared : slots.computeIfAbsent(waiter.slot(), slot -> new ConcurrentSkipListMap<>());
    }

    private void left(Router.Waiter waiter) {
        if (waiter.slot() < 0) {
            sharedWaiting.decrementAndGet();
        }
        waiting.decrementAndGet();
    }
}
