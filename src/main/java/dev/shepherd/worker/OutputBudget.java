package dev.shepherd.worker;

import java.util.function.LongSupplier;

/**
 * How fast the master reads one worker process's output: a token bucket of {@code bytesPerSecond} that holds one
 * second's worth. When it is spent, the pump waits before it reads again; the pipe fills and the worker's next write
 * blocks until the master reads on, as a container runtime's blocking log driver makes a container wait. Nothing the
 * worker writes is lost, and the master's CPU for reading, cutting and keeping lines is bounded by the rate however
 * fast the worker writes (two workers running {@code yes} took 1.5 of the master's two cores before:
 * {@code bench/output-flood.sh}).
 *
 * <p>Thread-safe: shared by the pumps of one process's standard output and error.
 */
final class OutputBudget {

    /** The highest rate: 1 GB a second (its products with nanoseconds stay within a long). */
    static final long MAX_BYTES_PER_SECOND = 1L << 30;

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final long bytesPerSecond;
    private final LongSupplier nanoTime;
    private long available;
    private long refilledAt;

    /**
     * @param bytesPerSecond greater than zero, at most {@link #MAX_BYTES_PER_SECOND}
     * @param nanoTime a monotonic clock ({@link System#nanoTime})
     */
    OutputBudget(long bytesPerSecond, LongSupplier nanoTime) {
        if (bytesPerSecond <= 0 || bytesPerSecond > MAX_BYTES_PER_SECOND) {
            throw new IllegalArgumentException("bytesPerSecond must be 1 to " + MAX_BYTES_PER_SECOND + ": " + bytesPerSecond);
        }
        this.bytesPerSecond = bytesPerSecond;
        this.nanoTime = nanoTime;
        this.available = bytesPerSecond;
        this.refilledAt = nanoTime.getAsLong();
    }

    /** Counts {@code bytes} read; returns how many nanoseconds to wait before the next read (0: none). */
    synchronized long spend(long bytes) {
        long now = nanoTime.getAsLong();
        long elapsed = now - refilledAt;
        if (elapsed > 0) {
            // Whole bytes only: the remainder of the time stays unspent for the next call.
            long earned = elapsed >= NANOS_PER_SECOND ? bytesPerSecond : elapsed * bytesPerSecond / NANOS_PER_SECOND;
            available = Math.min(bytesPerSecond, available + earned);
            refilledAt = earned >= bytesPerSecond ? now : refilledAt + earned * NANOS_PER_SECOND / bytesPerSecond;
        }
        available -= bytes;
        if (available >= 0) {
            return 0;
        }
        return -available * NANOS_PER_SECOND / bytesPerSecond;
    }
}
