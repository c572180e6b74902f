package dev.shepherd.proxy;

import io.netty.util.concurrent.EventExecutor;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import dev.shepherd.fleet.Endpoint;

import java.util.function.Consumer;

/**
 * A request waiting in the router's bounded queue for a READY worker, with its queue timeout
 * ({@code fleet.proxy.queue-limit}, {@code fleet.proxy.queue-timeout}): woken on its event loop when a worker is
 * READY, or told the reason when the queue is full or the timeout passed (the caller answers 503). Confined to the
 * request's event loop; the router wakes it from any thread, and {@link Router.Waiter#claim} makes sure a wake-up
 * and a timeout never both happen.
 */
final class WorkerWait {

    private final Router router;
    private Router.Waiter waiter;
    private long arrival;
    private ScheduledFuture<?> timer;

    private WorkerWait(Router router) {
        this.router = router;
    }

    /**
     * Queues a request: {@code onAvailable} runs on {@code loop} when a worker is READY or frees a slot, with the
     * worker the queue counted in for it (null: pick one now), {@code onRefused} with the reason when the queue is
     * full (at once) or the timeout passed. With {@code slot} not negative, the request waits for the worker of that
     * sticky slot ({@link Router#slotWaits}); {@code upgrade}: a WebSocket handshake. {@code arrival}: the place in
     * line of the request's earlier wait, 0 when it had none; {@code retry}: an attempt of it failed on a worker
     * (see {@link Router#await(int, boolean, long, boolean, Runnable)}). Returns the wait, or null when refused at
     * once.
     */
    static WorkerWait start(ProxyContext proxy, EventExecutor loop, int slot, boolean upgrade, long arrival,
                            boolean retry, Consumer<Endpoint> onAvailable, Consumer<String> onRefused) {
        Router router = proxy.router();
        WorkerWait wait = new WorkerWait(router);
        wait.waiter = router.await(slot, upgrade, arrival, retry, () -> loop.execute(() -> wait.woken(onAvailable)));
        if (wait.waiter == null) {
            onRefused.accept(router.whyWaiting(slot, upgrade) + " and " + proxy.properties().queueLimit()
                    + " requests are already waiting for one");
            return null;
        }
        wait.arrival = wait.waiter.arrival();
        long timeout = proxy.properties().queueTimeout().toNanos();
        wait.timer = loop.schedule(() -> {
            if (wait.waiter != null && router.cancel(wait.waiter)) {
                wait.waiter = null;
                onRefused.accept(router.whyWaitedInVain(slot, upgrade) + " within "
                        + proxy.properties().queueTimeout().toMillis() + " ms");
            }
        }, timeout, TimeUnit.NANOSECONDS);
        return wait;
    }

    private void woken(Consumer<Endpoint> onAvailable) {
        if (waiter == null) {
            // The request is over (the client went away after the grant): abandon() gave the worker back.
            return;
        }
        Endpoint granted = waiter.takeGrant();
        waiter = null;
        cancelTimer();
        onAvailable.accept(granted);
    }

    /** The request's place in line, to keep should it have to wait again. */
    long arrival() {
        return arrival;
    }

    /** Leaves the queue: the request is over; a worker granted to it meanwhile is given back. */
    void cancel() {
        if (waiter != null) {
            router.abandon(waiter);
            waiter = null;
        }
        cancelTimer();
    }

    private void cancelTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
