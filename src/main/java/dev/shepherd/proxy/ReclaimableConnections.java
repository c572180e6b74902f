package dev.shepherd.proxy;

import io.netty.util.concurrent.EventExecutor;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The client connections of one event loop that the proxy may close to let a new connection in while it holds
 * {@code fleet.proxy.max-connections}: those idle between two requests (kept alive) and those whose request head has
 * not all come yet (a head arriving slowly, a TLS handshake under way, nothing sent), oldest first. nginx keeps the
 * same queue of "reusable" connections and closes the oldest of them when a new connection finds none free
 * ({@code ngx_drain_connections}: "worker_connections are not enough, reusing connections"); it leaves out heads
 * that have begun, which are in here too, so that connections each sending a head a byte at a time (slowloris)
 * cannot keep every other client out until {@code client-header-timeout} ends them. A connection whose head has all
 * come (its body being read, its response on its way, a tunnel) is never closed to make room.
 *
 * <p>A new connection has most likely brought its request with it (with {@code defer-accept} the kernel hands it
 * over when its first bytes come): closing it before the proxy has read them would lose a request. So it is listed
 * as <em>fresh</em> and becomes reclaimable after its first read, if that left the head unfinished, or once it has
 * been open {@link #FRESH_NANOS} with nothing read; {@link #add} makes an entry reclaimable at once (an idle
 * connection, a head that has begun).
 *
 * <p>Confined to its event loop, but for {@link #reclaimable()} and {@link #fresh()}, which any thread may call. Two
 * doubly linked lists of {@link Entry}s, one made per connection: a connection enters and leaves them with no
 * allocation.
 */
final class ReclaimableConnections {

    /** How long a new connection from which nothing was read is spared: a second. */
    static final long FRESH_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Told, on the loop, when the lists change in ways that may pause or resume listeners at the limit. */
    interface Listener {
        /** A reclaimable connection was listed where there was none. */
        void appeared();

        /** The last reclaimable connection left the list (fresh ones may remain). */
        void emptied();
    }

    /** One connection's place in the lists. */
    static final class Entry {
        private final Runnable close;
        private Entry previous;
        private Entry next;
        private boolean listed;
        private boolean fresh;
        private long since;

        /** {@code close}: closes the connection, on its event loop. */
        Entry(Runnable close) {
            this.close = close;
        }

        boolean listed() {
            return listed;
        }

        boolean fresh() {
            return fresh;
        }
    }

    private final EventExecutor loop;
    private final Listener listener;
    private final LongSupplier nanoTime;
    private final Entry ready = sentinel();
    private final Entry waiting = sentinel();
    private final AtomicInteger readySize = new AtomicInteger();
    private final AtomicInteger freshSize = new AtomicInteger();
    /** When the oldest fresh entry was listed; meaningful while {@link #freshSize} is above 0. */
    private volatile long oldestFreshSince;

    ReclaimableConnections(EventExecutor loop, Listener listener, LongSupplier nanoTime) {
        this.loop = loop;
        this.listener = listener;
        this.nanoTime = nanoTime;
    }

    private static Entry sentinel() {
        Entry sentinel = new Entry(() -> { });
        sentinel.previous = sentinel;
        sentinel.next = sentinel;
        return sentinel;
    }

    EventExecutor loop() {
        return loop;
    }

    /** Lists a new connection as fresh, unless it is listed already. */
    void addFresh(Entry entry) {
        if (entry.listed) {
            return;
        }
        link(entry, waiting);
        entry.fresh = true;
        entry.since = nanoTime.getAsLong();
        if (freshSize.getPlain() == 0) {
            oldestFreshSince = entry.since;
        }
        freshSize.setRelease(freshSize.getPlain() + 1);
    }

    /**
     * Makes {@code entry} reclaimable: last in line when it was not listed or fresh, else it keeps its place (an idle
     * connection whose next head has begun).
     */
    void add(Entry entry) {
        if (entry.listed) {
            if (!entry.fresh) {
                return;
            }
            remove(entry);
        }
        link(entry, ready);
        entry.since = nanoTime.getAsLong();
        int before = readySize.getPlain();
        if (before == 0) {
            // A full write, before the listener reads whether the listeners are paused: see ConnectionLimit#settle.
            readySize.set(1);
            listener.appeared();
        } else {
            readySize.setRelease(before + 1);
        }
    }

    /** Takes {@code entry} out, if it is listed. */
    void remove(Entry entry) {
        if (!entry.listed) {
            return;
        }
        boolean wasOldestFresh = entry.fresh && waiting.next == entry;
        entry.listed = false;
        entry.previous.next = entry.next;
        entry.next.previous = entry.previous;
        entry.previous = null;
        entry.next = null;
        if (entry.fresh) {
            entry.fresh = false;
            freshSize.setRelease(freshSize.getPlain() - 1);
            if (wasOldestFresh && waiting.next != waiting) {
                oldestFreshSince = waiting.next.since;
            }
        } else {
            int after = readySize.getPlain() - 1;
            readySize.setRelease(after);
            if (after == 0) {
                listener.emptied();
            }
        }
    }

    private static void link(Entry entry, Entry list) {
        entry.listed = true;
        entry.previous = list.previous;
        entry.next = list;
        list.previous.next = entry;
        list.previous = entry;
    }

    /**
     * Closes the connection listed longest among the reclaimable ones and the fresh ones past {@link #FRESH_NANOS},
     * taking it out first; false when there is none.
     */
    boolean closeOldest() {
        Entry oldest = ready.next == ready ? null : ready.next;
        Entry fresh = waiting.next;
        if (fresh != waiting && nanoTime.getAsLong() - fresh.since >= FRESH_NANOS
                && (oldest == null || fresh.since - oldest.since < 0)) {
            oldest = fresh;
        }
        if (oldest == null) {
            return false;
        }
        remove(oldest);
        oldest.close.run();
        return true;
    }

    /** Whether a connection could be closed now; any thread (a moment's answer). */
    boolean reclaimable() {
        return readySize.get() > 0
                || freshSize.get() > 0 && nanoTime.getAsLong() - oldestFreshSince >= FRESH_NANOS;
    }

    /** Whether fresh connections are listed, which may become reclaimable; any thread (a moment's answer). */
    boolean fresh() {
        return freshSize.get() > 0;
    }

    /** Connections listed now, fresh or not; any thread (a moment's value). */
    int size() {
        return readySize.get() + freshSize.get();
    }
}
