package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Requests waiting for a worker, served in arrival order: when no worker is READY, or when every READY worker is
 * at {@code fleet.worker.max-concurrency}. Bounded in count ({@code fleet.proxy.queue-limit}); lock-free.
 *
 * <p>A waiter is not woken to race for a worker: {@link #dispatch()} counts the request in on a worker first
 * and hands it that worker ({@link Router.Waiter#takeGrant()}), oldest waiter first, so a freed slot goes to the
 * oldest waiter and to nobody else. Dispatch runs whenever something may have freed a worker (a request counted
 * out of a limited worker, a new snapshot) and whenever a waiter joins, each time after the change it reacts to,
 * so one of the two always sees both the waiter and the free worker: no wake-up is lost. Dispatches never
 * overlap: a call made while another thread dispatches only makes that thread go round once more (the
 * queue-drain pattern of reactive streams' operators), so waiters are granted one at a time, in order.
 */
final class WaitQueue {

    private final ConcurrentLinkedQueue<Router.Waiter> waiters = new ConcurrentLinkedQueue<>();
    /** Waiters neither granted nor cancelled: what the queue limit counts. */
    private final AtomicInteger waiting = new AtomicInteger();
    /** Dispatch calls not yet gone round: non-zero while one thread dispatches. */
    private final AtomicInteger dispatches = new AtomicInteger();
    private final int limit;
    private final Supplier<Endpoint> acquire;

    /**
     * @param limit how many requests may wait at once
     * @param acquire a worker with the request already counted in, or null when none can take one now
     */
    WaitQueue(int limit, Supplier<Endpoint> acquire) {
        this.limit = limit;
        this.acquire = acquire;
    }

    /**
     * Queues a request; {@code onGranted} runs once, on whichever thread dispatches, when a worker has been counted
     * in for it. Null when the queue is full.
     */
    Router.Waiter add(Runnable onGranted) {
        if (waiting.incrementAndGet() > limit) {
            waiting.decrementAndGet();
            return null;
        }
        Router.Waiter waiter = new Router.Waiter(onGranted);
        waiters.add(waiter);
        dispatch();
        return waiter;
    }

    /** Takes a waiter out before it is granted a worker; false when it was granted one first. */
    boolean cancel(Router.Waiter waiter) {
        if (!waiter.claim()) {
            return false;
        }
        waiters.remove(waiter);
        waiting.decrementAndGet();
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

    /** Whether any request waits: a new request then queues behind it instead of taking a worker first. */
    boolean hasWaiters() {
        return waiting.get() != 0;
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
            grantWhilePossible();
            missed = dispatches.addAndGet(-missed);
        } while (missed != 0);
    }

    private void grantWhilePossible() {
        Router.Waiter oldest;
        while ((oldest = waiters.peek()) != null) {
            if (!oldest.waiting()) {
                // Cancelled: cancel() takes it out, perhaps not yet.
                waiters.remove(oldest);
                continue;
            }
            Endpoint endpoint = acquire.get();
            if (endpoint == null) {
                return;
            }
            if (oldest.grant(endpoint)) {
                waiters.remove(oldest);
                waiting.decrementAndGet();
                oldest.run();
            } else {
                // Cancelled since it was looked at. Releasing calls dispatch() again, which only makes this loop
                // go round once more.
                endpoint.release(false);
            }
        }
    }
}
