package dev.shepherd.proxy;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Keeps retries from multiplying the load during a fleet-wide outage (Finagle's retry budget): over the last
 * ten seconds, retries may be at most {@code percent} of the requests plus {@code minPerSecond} per second.
 *
 * <p>The ten-second horizon matters: a crashing worker takes all its in-flight requests with it at once, a burst
 * of retries far above one second's share, which the traffic of the seconds before has paid for. When every
 * attempt fails, the budget is spent within seconds and the load stays near 1.2× instead of 3×.
 *
 * <p>What it bounds is retries of failures that leave the workers up: resets and closes by a living worker, an
 * overloaded or broken deploy, where every retry is more load on the same processes. A worker that dies takes the
 * requests in flight on it with it, a burst that spends the budget at once, and one it would refuse once two or
 * three crashes came within its horizon (seen with the seed's crashing workers at {@code ab -c 500}). Such a retry
 * takes from the budget while there is some; once it is spent, the exchange waits, at most the retry backoff, to
 * learn whether the worker exited ({@link Retries#awaitExit}) and retries if it did, without counting it here. As
 * HAProxy's {@code retries} with {@code redispatch}, and nginx's {@code proxy_next_upstream error}, retry a failed
 * idempotent request with no budget at all. Bounded still: a death retries at most what it had in flight, and
 * {@code max-attempts} caps every request, so a request that crashes every worker it reaches (a "query of death")
 * kills at most that many of them, where the spent budget held it to one.
 *
 * <p>Lock-free, so that the event loops never wait on one another: counts are {@link LongAdder}s per second. Loops
 * that take a retry at the same moment may each take the last one, so the budget can be overspent by at most one
 * retry per event loop.
 */
final class RetryBudget {

    private static final int SECONDS = 10;
    private static final long SECOND = 1_000_000_000L;

    private final int percent;
    private final int minPerSecond;
    private final LongSupplier nanoTime;
    private final long origin;
    private final AtomicLongArray slotSecond = new AtomicLongArray(SECONDS);
    private final LongAdder[] requests = new LongAdder[SECONDS];
    private final LongAdder[] retries = new LongAdder[SECONDS];

    RetryBudget(int percent, int minPerSecond, LongSupplier nanoTime) {
        this.percent = percent;
        this.minPerSecond = minPerSecond;
        this.nanoTime = nanoTime;
        this.origin = nanoTime.getAsLong();
        for (int i = 0; i < SECONDS; i++) {
            requests[i] = new LongAdder();
            retries[i] = new LongAdder();
            slotSecond.set(i, -SECONDS);
        }
    }

    void onRequest() {
        requests[currentSlot(second())].increment();
    }

    /** Takes one retry from the budget; false when the last ten seconds have spent it. */
    boolean tryRetry() {
        long now = second();
        int slot = currentSlot(now);
        long earned = (long) minPerSecond * SECONDS;
        long spent = 0;
        long percentOfRequests = 0;
        for (int i = 0; i < SECONDS; i++) {
            if (now - slotSecond.get(i) < SECONDS) {
                percentOfRequests += requests[i].sum();
                spent += retries[i].sum();
            }
        }
        earned += percentOfRequests * percent / 100;
        if (spent >= earned) {
            return false;
        }
        retries[slot].increment();
        return true;
    }

    private long second() {
        return (nanoTime.getAsLong() - origin) / SECOND;
    }

    /** The slot of second {@code now}, cleared first when it still holds a second ten or more seconds ago. */
    private int currentSlot(long now) {
        int slot = (int) (now % SECONDS);
        long held = slotSecond.get(slot);
        if (held != now && slotSecond.compareAndSet(slot, held, now)) {
            requests[slot].reset();
            retries[slot].reset();
        }
        return slot;
    }
}
