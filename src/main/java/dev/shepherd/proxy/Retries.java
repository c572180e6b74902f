package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.util.concurrent.EventExecutor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Where the next attempt of a request goes once an attempt has failed: created at the first failure (most
 * requests never need it) and confined to the request's event loop.
 *
 * <p>A retry goes at once to a READY worker that has not failed the request yet. When every READY worker has,
 * the request waits for the fleet to change, at most the retry backoff: workers killed together keep accepting
 * connections for tens of milliseconds before their sockets close (a killed JVM frees its memory before its
 * sockets), so retrying on them at once would spend the request's last attempts on dying processes. A change (an
 * exit, a new READY worker) or the end of the backoff calls {@code retry} again; after the backoff, a worker that
 * already failed the request may be picked.
 *
 * <p>When the retry budget is spent, the request may still wait here, as long, to learn whether the worker that
 * failed it died ({@link #awaitExit}): the requests a worker's death takes with it are retried whatever the budget
 * says (see {@link RetryBudget}).
 */
final class Retries {

    private final Router router;
    private final EventExecutor loop;
    private final long backoffNanos;
    private final Runnable retry;
    private final List<Endpoint> failedOn = new ArrayList<>(4);
    private Router.Waiter changeWaiter;
    private ScheduledFuture<?> backoffTimer;
    private boolean backoffOver;
    private boolean waiting;
    /** While the request waits to learn whether a worker died ({@link #awaitExit}): that worker, and who is told. */
    private Endpoint awaitedExit;
    private Consumer<Boolean> exitDecided;
    /** Takes back the exit callback of {@link #awaitExit}'s worker. */
    private Runnable cancelExitCallback;
    /** Counts the waits of {@link #awaitExit}, so that an exit callback queued for an earlier one does nothing. */
    private int exitWait;

    Retries(Router router, EventExecutor loop, long backoffNanos, Runnable retry) {
        this.router = router;
        this.loop = loop;
        this.backoffNanos = backoffNanos;
        this.retry = retry;
    }

    void failedOn(Endpoint endpoint) {
        failedOn.add(endpoint);
    }

    /**
     * Asks each worker that failed the request again whether its process has exited ({@link Endpoint#recheckExited}):
     * one that has leaves the rotation. Reads {@code /proc} once per such worker.
     */
    void recheckFailedWorkers() {
        for (Endpoint endpoint : failedOn) {
            endpoint.recheckExited();
        }
    }

    /**
     * The worker for the next attempt, counted in its in-flight; null when none is READY or every one it may use is
     * at its concurrency limit (the request then queues), or when the request now waits for a fleet change
     * ({@link #waiting()}), after which {@code retry} runs on the event loop.
     */
    Endpoint pick() {
        long seen = router.version();
        Endpoint picked = router.pickUntried(failedOn);
        if (picked == null && !failedOn.isEmpty() && router.hasReady() && !router.untriedIsFull(failedOn)) {
            if (!backoffOver) {
                awaitFleetChange(seen);
                return null;
            }
            picked = router.pick(failedOn.get(failedOn.size() - 1));
        }
        if (picked != null) {
            stop();
        }
        return picked;
    }

    boolean waiting() {
        return waiting;
    }

    private void awaitFleetChange(long seenVersion) {
        waiting = true;
        changeWaiter = router.awaitChange(seenVersion, () -> loop.execute(this::fleetChanged));
        if (backoffTimer == null) {
            backoffTimer = loop.schedule(this::backoffElapsed, backoffNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void fleetChanged() {
        changeWaiter = null;
        waiting = false;
        retry.run();
    }

    private void backoffElapsed() {
        backoffTimer = null;
        backoffOver = true;
        if (changeWaiter != null && router.cancelChange(changeWaiter)) {
            changeWaiter = null;
            waiting = false;
            retry.run();
        }
    }

    /**
     * The retry budget is spent and {@code failed} has just failed the request: waits, at most the retry backoff,
     * to learn whether its process died, and then tells {@code decided} on the loop (true: it exited). A dying
     * process resets its connections a little before its exit is reaped, so the answer comes with the exit (the
     * endpoint's own callback, not a fleet change) or, for a worker that lives on, when the backoff is over. At once
     * when its exit is already known. Whatever this request waited for before is given up first.
     */
    void awaitExit(Endpoint failed, Consumer<Boolean> decided) {
        stop();
        if (failed.exited()) {
            decided.accept(true);
            return;
        }
        waiting = true;
        awaitedExit = failed;
        exitDecided = decided;
        int wait = ++exitWait;
        backoffTimer = loop.schedule(this::exitWaitOver, backoffNanos, TimeUnit.NANOSECONDS);
        cancelExitCallback = failed.whenExited(() -> loop.execute(() -> exitCallback(wait)));
    }

    private void exitCallback(int wait) {
        if (wait == exitWait && awaitedExit != null) {
            exitKnown(true);
        }
    }

    private void exitWaitOver() {
        backoffTimer = null;
        if (awaitedExit != null) {
            exitKnown(awaitedExit.exited());
        }
    }

    private void exitKnown(boolean exited) {
        Consumer<Boolean> decided = exitDecided;
        stop();
        decided.accept(exited);
    }

    /** Stops waiting: an attempt starts, or the request is over. */
    void stop() {
        waiting = false;
        backoffOver = false;
        awaitedExit = null;
        exitDecided = null;
        if (cancelExitCallback != null) {
            cancelExitCallback.run();
            cancelExitCallback = null;
        }
        if (backoffTimer != null) {
            backoffTimer.cancel(false);
            backoffTimer = null;
        }
        if (changeWaiter != null) {
            router.cancelChange(changeWaiter);
            changeWaiter = null;
        }
    }
}
