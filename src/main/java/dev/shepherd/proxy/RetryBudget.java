package dev.shepherd.proxy;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Keeps retries from multiplying the load during a fleet-wide outage (Finagle's and Envoy's rule): per second,
 * retries may be at most {@code percent} of that second's requests, plus {@code minPerSecond}.
 */
final class RetryBudget {

    private static final long SECOND = 1_000_000_000L;

    private final int percent;
    private final int minPerSecond;
    private final LongSupplier nanoTime;
    private final LongAdder requests = new LongAdder();
    private final AtomicLong retries = new AtomicLong();
    private final AtomicLong windowStart;
    private volatile long previousRequests;

    RetryBudget(int percent, int minPerSecond, LongSupplier nanoTime) {
        this.percent = percent;
        this.minPerSecond = minPerSecond;
        this.nanoTime = nanoTime;
        this.windowStart = new AtomicLong(nanoTime.getAsLong());
    }

    void onRequest() {
        requests.increment();
    }

    /** Takes one retry from the budget; false when it is spent for this second. */
    boolean tryRetry() {
        roll();
        long seen = Math.max(requests.sum(), previousRequests);
        long allowed = minPerSecond + seen * percent / 100;
        while (true) {
            long used = retries.get();
            if (used >= allowed) {
                return false;
            }
            if (retries.compareAndSet(used, used + 1)) {
                return true;
            }
        }
    }

    private void roll() {
        long now = nanoTime.getAsLong();
        long start = windowStart.get();
        if (now - start >= SECOND && windowStart.compareAndSet(start, now)) {
            previousRequests = requests.sumThenReset();
            retries.set(0);
        }
    }
}
