package dev.shepherd.proxy;

import lombok.extern.slf4j.Slf4j;

import java.util.function.LongConsumer;

/**
 * One kind of deadline (the response timeout, the body idle timeout) of one event loop's exchanges, cheaper than a
 * scheduled task per request: every entry of a list waits the same timeout, so appending keeps the list in deadline
 * order and a sweep only looks at its head. An intrusive doubly-linked list: adding, moving (add again) and removing
 * allocate nothing. Each added deadline, and after a sweep the earliest one left, is handed to the loop's
 * {@link Sweeper} so that the next sweep comes in time. Confined to its event loop.
 */
@Slf4j
final class ResponseDeadlines {

    /** An exchange's place in the list. */
    static final class Entry {
        private final Runnable onTimeout;
        private Entry previous;
        private Entry next;
        private long deadline;
        private boolean linked;

        Entry(Runnable onTimeout) {
            this.onTimeout = onTimeout;
        }

        /** Whether the entry is in a list: removing one that is not costs nothing, not even finding the list. */
        boolean armed() {
            return linked;
        }
    }

    private final LongConsumer sweepBy;
    private Entry head;
    private Entry tail;

    /** A list no sweeper watches: its owner sweeps it by hand. */
    ResponseDeadlines() {
        this(deadline -> {
        });
    }

    /** @param sweepBy told each deadline that a sweep must come by ({@link Sweeper#ensureBy}) */
    ResponseDeadlines(LongConsumer sweepBy) {
        this.sweepBy = sweepBy;
    }

    /** Puts {@code entry} at the end with a new deadline, which must be no earlier than any other's. */
    void add(Entry entry, long deadlineNanos) {
        remove(entry);
        entry.deadline = deadlineNanos;
        entry.previous = tail;
        entry.next = null;
        if (tail == null) {
            head = entry;
        } else {
            tail.next = entry;
        }
        tail = entry;
        entry.linked = true;
        sweepBy.accept(deadlineNanos);
    }

    void remove(Entry entry) {
        if (!entry.linked) {
            return;
        }
        if (entry.previous == null) {
            head = entry.next;
        } else {
            entry.previous.next = entry.next;
        }
        if (entry.next == null) {
            tail = entry.previous;
        } else {
            entry.next.previous = entry.previous;
        }
        entry.previous = null;
        entry.next = null;
        entry.linked = false;
    }

    /**
     * Times out every exchange whose deadline has passed, then hands the earliest deadline left to the sweeper. One
     * whose timeout throws is logged and the sweep goes on: the others must not wait for a later sweep.
     */
    void sweep(long nowNanos) {
        while (head != null && nowNanos - head.deadline >= 0) {
            Entry expired = head;
            remove(expired);
            try {
                expired.onTimeout.run();
            } catch (RuntimeException ex) {
                log.warn("A timeout's action failed; the other timeouts go on", ex);
            }
        }
        if (head != null) {
            sweepBy.accept(head.deadline);
        }
    }
}
