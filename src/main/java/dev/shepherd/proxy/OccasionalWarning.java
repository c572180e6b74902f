package dev.shepherd.proxy;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A warning that a client can cause as often as it likes (a failed accept, a body that could not be stored), let into
 * the log at most once per {@link #INTERVAL_NANOS} with how many times it happened since the last line, so that the
 * log's volume is not the client's to decide. Thread-safe and lock-free: the event loops share one.
 */
final class OccasionalWarning {

    /** Ten seconds, on the monotonic clock. */
    static final long INTERVAL_NANOS = 10_000_000_000L;

    private final LongSupplier nanoTime;
    private final AtomicLong since = new AtomicLong();
    private final AtomicLong lastLine = new AtomicLong(Long.MIN_VALUE);

    OccasionalWarning(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /**
     * Counts one occurrence; returns how many there were since the last line, this one included, when a line is due
     * now (the caller writes it), else 0.
     */
    long occurred() {
        since.incrementAndGet();
        long now = nanoTime.getAsLong();
        long last = lastLine.get();
        if ((last == Long.MIN_VALUE || now - last >= INTERVAL_NANOS) && lastLine.compareAndSet(last, now)) {
            return since.getAndSet(0);
        }
        return 0;
    }
}
