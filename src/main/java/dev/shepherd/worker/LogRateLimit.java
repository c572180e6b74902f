package dev.shepherd.worker;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * How much of one worker slot's output may go into the master's log, journald's rule ({@code RateLimitIntervalSec=},
 * {@code RateLimitBurst=}, {@code journald.conf(5)}): once more than {@code burst} lines arrived in an interval, the
 * rest of that interval's lines are suppressed, and when the next interval begins (its first line) or the output
 * ends, how many were suppressed is reported. An interval begins with the first line after the previous one ended,
 * on the monotonic clock (a step of the wall clock changes nothing). Suppressed lines still reach the worker's
 * {@link LogBuffer}; only the master's log, whose volume a worker must not decide, is spared.
 * <p>Shared by the processes of the worker ids that hold one slot ({@link LogAllowance}: a worker that restarts
 * or is replaced does not get a new burst: 14 restarts once put 100,000 lines in the log in 20 s), and a line counts once per started {@value #UNIT} characters it takes in
 * the log, so that the log's volume is bounded too, not only its lines: at most {@code burst} × {@value #UNIT}
 * characters per interval, plus one line. Thread-safe: the pumps of an old and a new process may both be reading.
 */
final class LogRateLimit {

    /** Characters of log text that count as one line. */
    static final int UNIT = 1024;

    /** What the limit tells the calling pump to say in the master's log. */
    interface Reports {

        /** The line just refused is the first of its interval over {@code burst}; lines are refused {@code left} more. */
        void suppressing(int burst, Duration interval, Duration left);

        /** {@code count} lines (at least one) were refused in an interval now over. */
        void suppressed(long count);
    }

    /**
     * @param interval length of an interval; zero: no limit
     * @param burst lines logged per interval; zero: no limit (as journald takes either being 0)
     */
    record Rule(Duration interval, int burst) {

        Rule {
            if (interval.isNegative() || burst < 0) {
                throw new IllegalArgumentException("a log rate limit needs an interval >= 0 and a burst >= 0");
            }
        }

        boolean limits() {
            return !interval.isZero() && burst > 0;
        }
    }

    private final Rule rule;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private boolean started;
    private long intervalEnd;
    private long logged;
    private long suppressed;

    LogRateLimit(Rule rule, LongSupplier nanoTime) {
        this.rule = rule;
        this.intervalNanos = rule.limits() ? rule.interval().toNanos() : 0;
        this.nanoTime = nanoTime;
    }

    /**
     * Whether a line that takes {@code length} characters in the log goes into it; may report first, through the
     * calling pump's {@code reports}.
     */
    synchronized boolean admit(int length, Reports reports) {
        if (!rule.limits()) {
            return true;
        }
        long now = nanoTime.getAsLong();
        if (!started || now - intervalEnd >= 0) {
            finish(reports);
            started = true;
            intervalEnd = now + intervalNanos;
            logged = 0;
        }
        if (logged < rule.burst()) {
            logged += 1 + Math.max(0, length - 1) / UNIT;
            return true;
        }
        if (suppressed++ == 0) {
            reports.suppressing(rule.burst(), rule.interval(), Duration.ofNanos(intervalEnd - now));
        }
        return false;
    }

    /** The output ended (or an interval did): reports the lines suppressed and not reported yet. */
    synchronized void finish(Reports reports) {
        if (suppressed > 0) {
            long count = suppressed;
            suppressed = 0;
            reports.suppressed(count);
        }
    }
}
