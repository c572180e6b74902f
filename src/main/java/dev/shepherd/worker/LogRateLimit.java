package dev.shepherd.worker;

import java.time.Duration;
import java.time.Instant;

/**
 * How many of one worker process's output lines may go into the master's log, journald's rule
 * ({@code RateLimitIntervalSec=}, {@code RateLimitBurst=}, {@code journald.conf(5)}): once more than
 * {@code burst} lines arrived in an interval, the rest of that interval's lines are suppressed, and when the next
 * interval begins (its first line) or the output ends, how many were suppressed is reported. An interval begins with
 * the first line after the previous one ended. Suppressed lines still reach the worker's {@link LogBuffer}; only the
 * master's log, whose volume a worker must not decide, is spared.
 * <p>Not thread-safe: one instance per output pump thread.
 */
final class LogRateLimit {

    /** What the limit tells its pump to say in the master's log. */
    interface Reports {

        /** The line just refused is the first of its interval over {@code burst}; lines are refused until {@code until}. */
        void suppressing(int burst, Duration interval, Instant until);

        /** {@code count} lines (at least one) were refused in an interval now over. */
        void suppressed(long count);
    }

    /** No limit: every line is logged. */
    static final Rule NONE = new Rule(Duration.ZERO, 0);

    /**
     * @param interval length of an interval; zero: no limit
     * @param burst lines logged per interval, at least 1 unless {@code interval} is zero
     */
    record Rule(Duration interval, int burst) {

        Rule {
            if (interval.isNegative() || !interval.isZero() && burst < 1) {
                throw new IllegalArgumentException("a log rate limit needs an interval >= 0 and a burst >= 1");
            }
        }

        boolean limits() {
            return !interval.isZero();
        }
    }

    private final Rule rule;
    private final Reports reports;
    private Instant intervalEnd = Instant.MIN;
    private int logged;
    private long suppressed;

    LogRateLimit(Rule rule, Reports reports) {
        this.rule = rule;
        this.reports = reports;
    }

    /** Whether a line that arrived at {@code now} goes into the master's log; may report first. */
    boolean admit(Instant now) {
        if (!rule.limits()) {
            return true;
        }
        if (!now.isBefore(intervalEnd)) {
            finish();
            intervalEnd = now.plus(rule.interval());
            logged = 0;
        }
        if (logged < rule.burst()) {
            logged++;
            return true;
        }
        if (suppressed++ == 0) {
            reports.suppressing(rule.burst(), rule.interval(), intervalEnd);
        }
        return false;
    }

    /** The output ended (or an interval did): reports the lines suppressed and not reported yet. */
    void finish() {
        if (suppressed > 0) {
            long count = suppressed;
            suppressed = 0;
            reports.suppressed(count);
        }
    }
}
