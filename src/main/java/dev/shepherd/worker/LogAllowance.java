package dev.shepherd.worker;

/**
 * How much of a worker slot's output may go into the master's log: one {@link LogRateLimit}, shared by every process
 * of every worker id that holds the slot in turn (its restarts, and the replacements a recycle, a reload or
 * {@code replace} start, each with a new id). Per id, a worker that got itself recycled every few seconds had a new
 * burst each time: two workers put 208 MB in the master's log in 64 s, five times the bound (found by an attacking
 * helper). Thread-safe: the pumps of an old and a new process may both be reading.
 */
public final class LogAllowance {

    private LogRateLimit limit;

    /** The limit, made with {@code rule} the first time. */
    synchronized LogRateLimit limit(LogRateLimit.Rule rule) {
        if (limit == null) {
            limit = new LogRateLimit(rule, System::nanoTime);
        }
        return limit;
    }
}
