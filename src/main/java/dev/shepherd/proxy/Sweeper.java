package dev.shepherd.proxy;

import lombok.extern.slf4j.Slf4j;

import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * When one event loop next sweeps its deadlines (response, body idle, tunnel idle) and its idle worker connections
 * ({@link ProxyContext#sweep}): a timer set for the earliest of them plus {@link #SLACK_NANOS}, and no timer while
 * nothing is due, as nginx's event loop sleeps until its nearest timer. Deadlines less than the slack apart share
 * one wake-up, so a deadline is acted on at most {@link #SLACK_NANOS} late (plus the loop's own delay). Deadlines are
 * {@link System#nanoTime} values, compared by their difference, so the clock's wrap does not matter.
 *
 * <p>Whatever holds a deadline calls {@link #ensureBy} when it adds one, and again for what is left after each sweep;
 * a later deadline than the timer's costs one comparison, an earlier one moves the timer. A fixed beat instead (every
 * 20 ms) woke each loop 50 times a second, idle or not, at 80-180 µs of CPU a wake-up on the machine measured
 * (bench/RESULTS.md, "An idle proxy sleeps").
 *
 * <p>Confined to its event loop's thread. Until {@link #bind} gives it a scheduler (at the proxy's start, on the
 * loop) it never schedules: the owner sweeps by hand (tests on their own threads).
 */
@Slf4j
final class Sweeper {

    /** How late a deadline may be acted on; deadlines closer together than this share one wake-up. */
    static final long SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    /** Runs a task on the loop after a delay in nanoseconds; the returned future cancels it. */
    @FunctionalInterface
    interface Scheduler {
        Future<?> schedule(Runnable task, long delayNanos);
    }

    private final Runnable sweep;
    private final LongSupplier nanoTime;
    private final Runnable fire = this::fire;
    private Scheduler scheduler;
    private Future<?> timer;
    /** When {@link #timer} fires (nanoTime); meaningful while it is set. */
    private long dueAt;

    /**
     * @param sweep acts on everything due now and calls {@link #ensureBy} for what is left
     * @param nanoTime the clock, {@link System#nanoTime} but in tests
     */
    Sweeper(Runnable sweep, LongSupplier nanoTime) {
        this.sweep = sweep;
        this.nanoTime = nanoTime;
    }

    /** Lets the sweeper set timers on its loop from now on; call on that loop. */
    void bind(Scheduler scheduler) {
        this.scheduler = scheduler;
    }

    /**
     * Makes sure a sweep runs no later than {@code deadlineNanos} plus the slack (a {@link System#nanoTime} value).
     * The timer stays when it fires by then: if it fires before the deadline, that sweep sets the next timer.
     */
    void ensureBy(long deadlineNanos) {
        if (scheduler == null || timer != null && dueAt - deadlineNanos <= SLACK_NANOS) {
            return;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        long now = nanoTime.getAsLong();
        long untilDeadline = deadlineNanos - now;
        // Saturated: a timeout of centuries must not wrap round into a timer that fires at once, again and again.
        long delay = untilDeadline > Long.MAX_VALUE - SLACK_NANOS ? Long.MAX_VALUE : Math.max(0, untilDeadline + SLACK_NANOS);
        dueAt = now + delay;
        timer = scheduler.schedule(fire, delay);
    }

    /** Whether a sweep is planned: false once nothing is left to watch. */
    boolean scheduled() {
        return timer != null;
    }

    private void fire() {
        timer = null;
        try {
            sweep.run();
        } catch (RuntimeException ex) {
            // What was left may not have been handed back: look again soon rather than never.
            log.warn("A sweep of the proxy's deadlines failed; the next one runs in {} ms",
                    TimeUnit.NANOSECONDS.toMillis(SLACK_NANOS), ex);
            ensureBy(nanoTime.getAsLong());
        }
    }
}
