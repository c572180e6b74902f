package dev.shepherd.proxy;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The client connections of one event loop that the proxy may close to let a new connection in while it holds
 * {@code fleet.proxy.max-connections}: first those whose request head has not all come yet (a head arriving slowly,
 * a TLS handshake under way, nothing sent), oldest first; then those idle between two requests (kept alive), oldest
 * first; when there is none, the one whose request body, read before any worker has the request, comes slowest.
 * Unfinished heads go first because a head comes whole within a moment from any client but an attacker, while an
 * idle connection has at least sent a whole request: ordered by age alone, 250 reconnecting slowloris connections
 * (3,800 a second) made every kept-alive client idle for 50 ms the oldest, and closed its connection 65 times in 200
 * requests (found by an attacking helper). nginx keeps the
 * same queue of "reusable" connections and closes the oldest of them when a new connection finds none free
 * ({@code ngx_drain_connections}: "worker_connections are not enough, reusing connections"); it leaves out heads that
 * have begun and bodies, which are in here too, so that connections each sending a head a byte at a time (slowloris)
 * or a body at the least rate allowed (R.U.D.Y.) cannot keep every other client out for minutes or hours. A
 * connection whose request a worker has, or whose response is on its way, or a tunnel, is never closed for room.
 *
 * <p>A new connection has most likely brought its request with it (with {@code defer-accept} the kernel hands it
 * over when its first bytes come): closing it before the proxy has read them would lose a request. So it is listed
 * as <em>fresh</em> and becomes reclaimable after its first read, if that left the head unfinished ({@link #addHead}),
 * or once it has been open {@link #GRACE_NANOS} with nothing read. A body becomes reclaimable once it has been read
 * for that long too: its rate means something by then.
 *
 * <p>Confined to its event loop, but for {@link #reclaimableCount()}, {@link #timed()}, {@link #size()} and
 * {@link #asked}, which any thread may use.
 * Three doubly linked lists of {@link Entry}s, one made per connection: a connection moves between them with no
 * allocation.
 */
final class ReclaimableConnections {

    /** How long a new connection from which nothing was read, or a body, is spared: a second. */
    static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** Told, on the loop, when the lists change in ways that may pause or resume listeners at the limit. */
    interface Listener {
        /** An unfinished head or an idle connection was listed where there was none. */
        void appeared();

        /** The last unfinished head or idle connection left (fresh connections and bodies may remain). */
        void emptied();
    }

    /** One connection's place in the lists. */
    static final class Entry {
        private final Runnable close;
        private final Runnable refuseBody;
        private final Future<?> closed;
        private Entry previous;
        private Entry next;
        private Line line;
        private long since;
        private long bodyBytes;

        /**
         * {@code close}: closes the connection; {@code refuseBody}: answers the request whose body is being read and
         * closes the connection. Both run on the connection's event loop. {@code closed}: done when the connection
         * has closed.
         */
        Entry(Runnable close, Runnable refuseBody, Future<?> closed) {
            this.close = close;
            this.refuseBody = refuseBody;
            this.closed = closed;
        }

        boolean listed() {
            return line != null;
        }

        boolean fresh(ReclaimableConnections in) {
            return line == in.fresh;
        }

        /** {@code bytes} more of the body came (as decoded); counted while it is listed as a body. */
        void bodyRead(long bytes) {
            bodyBytes += bytes;
        }
    }

    /** One list, oldest first, with its size and its oldest entry's time readable from any thread. */
    private static final class Line {
        private final Entry first = new Entry(() -> { }, () -> { }, null);
        private final AtomicInteger size = new AtomicInteger();
        /** When the oldest entry was listed; meaningful while {@link #size} is above 0. */
        private volatile long oldestSince;

        Line() {
            first.previous = first;
            first.next = first;
        }

        Entry oldest() {
            return first.next == first ? null : first.next;
        }
    }

    private final EventExecutor loop;
    private final Listener listener;
    private final LongSupplier nanoTime;
    private final Line heads = new Line();
    private final Line idle = new Line();
    private final Line fresh = new Line();
    private final Line bodies = new Line();
    /** Closes asked of this loop by another ({@link ConnectionLimit}), not yet run; any thread. */
    final AtomicInteger asked = new AtomicInteger();

    ReclaimableConnections(EventExecutor loop, Listener listener, LongSupplier nanoTime) {
        this.loop = loop;
        this.listener = listener;
        this.nanoTime = nanoTime;
    }

    EventExecutor loop() {
        return loop;
    }

    /** Lists a new connection as fresh, unless it is listed already. */
    void addFresh(Entry entry) {
        if (!entry.listed()) {
            link(entry, fresh);
        }
    }

    /** Makes {@code entry} reclaimable as a head not all come yet: last in line, unless it is listed so already. */
    void addHead(Entry entry) {
        moveTo(entry, heads);
    }

    /** Makes {@code entry} reclaimable as idle between two requests: last in line, unless it is listed so already. */
    void addIdle(Entry entry) {
        moveTo(entry, idle);
    }

    private void moveTo(Entry entry, Line line) {
        if (entry.line == line) {
            return;
        }
        remove(entry);
        int before = immediate();
        link(entry, line);
        if (before == 0) {
            listener.appeared();
        }
    }

    /** Unfinished heads and idle connections listed, reclaimable whatever their age. */
    private int immediate() {
        return heads.size.getPlain() + idle.size.getPlain();
    }

    /** Lists {@code entry} as a body being read first, from now, with none of it read yet. */
    void addBody(Entry entry) {
        if (entry.line == bodies) {
            return;
        }
        Line from = entry.line;
        unlink(entry);
        entry.bodyBytes = 0;
        link(entry, bodies);
        // Told once the body is listed: told before, a pause found nothing timed to recheck, and the body, reclaimable
        // a second later, stayed so with the listeners paused (found by a reviewing helper).
        if ((from == heads || from == idle) && immediate() == 0) {
            listener.emptied();
        }
    }

    /** Takes {@code entry} out, if it is listed. */
    void remove(Entry entry) {
        Line line = entry.line;
        unlink(entry);
        if ((line == heads || line == idle) && immediate() == 0) {
            listener.emptied();
        }
    }

    /** Takes {@code entry} out of its line, if it is listed, telling no one. */
    private void unlink(Entry entry) {
        Line line = entry.line;
        if (line == null) {
            return;
        }
        boolean wasOldest = line.first.next == entry;
        entry.line = null;
        entry.previous.next = entry.next;
        entry.next.previous = entry.previous;
        entry.previous = null;
        entry.next = null;
        int after = line.size.getPlain() - 1;
        line.size.setRelease(after);
        if (wasOldest && after > 0) {
            line.oldestSince = line.first.next.since;
        }
    }

    private void link(Entry entry, Line line) {
        entry.line = line;
        entry.since = nanoTime.getAsLong();
        entry.previous = line.first.previous;
        entry.next = line.first;
        line.first.previous.next = entry;
        line.first.previous = entry;
        int before = line.size.getPlain();
        if (before == 0) {
            line.oldestSince = entry.since;
            // A full write, before the listener reads whether the listeners are paused: see ConnectionLimit#settle.
            line.size.set(1);
        } else {
            line.size.setRelease(before + 1);
        }
    }

    /**
     * Closes the connection listed longest among the unfinished heads and the fresh ones past {@link #GRACE_NANOS};
     * else the one idle longest; else refuses the body read for {@link #GRACE_NANOS} or longer that came slowest on
     * average. Takes the entry out first; returns the closed connection's close future (done once the close has
     * completed, which on io_uring is later), or null when there is none.
     */
    Future<?> closeOldest() {
        long now = nanoTime.getAsLong();
        Entry oldest = heads.oldest();
        Entry waiting = fresh.oldest();
        if (waiting != null && now - waiting.since >= GRACE_NANOS
                && (oldest == null || waiting.since - oldest.since < 0)) {
            oldest = waiting;
        }
        if (oldest == null) {
            oldest = idle.oldest();
        }
        if (oldest != null) {
            remove(oldest);
            oldest.close.run();
            return oldest.closed;
        }
        Entry slowest = null;
        double slowestRate = Double.MAX_VALUE;
        for (Entry body = bodies.first.next; body != bodies.first && now - body.since >= GRACE_NANOS; body = body.next) {
            double rate = body.bodyBytes / ((now - body.since) / 1e9);
            if (rate < slowestRate) {
                slowestRate = rate;
                slowest = body;
            }
        }
        if (slowest == null) {
            return null;
        }
        remove(slowest);
        slowest.refuseBody.run();
        return slowest.closed;
    }

    /**
     * How many times in a row {@link #closeOldest()} would close a connection now, at least (fresh connections and
     * bodies past their grace count as one each); any thread (a moment's answer).
     */
    int reclaimableCount() {
        long now = nanoTime.getAsLong();
        return heads.size.get() + idle.size.get() + (aged(fresh, now) ? 1 : 0) + (aged(bodies, now) ? 1 : 0);
    }

    /**
     * How many unfinished heads (and fresh connections past their grace, as one) {@link #closeOldest()} would close
     * before any idle connection or body; any thread (a moment's answer).
     */
    int headCount() {
        return heads.size.get() + (aged(fresh, nanoTime.getAsLong()) ? 1 : 0);
    }

    private static boolean aged(Line line, long now) {
        return line.size.get() > 0 && now - line.oldestSince >= GRACE_NANOS;
    }

    /** Whether fresh connections or bodies are listed, which become reclaimable with time; any thread. */
    boolean timed() {
        return fresh.size.get() > 0 || bodies.size.get() > 0;
    }

    /** Connections listed now, in any list; any thread (a moment's value). */
    int size() {
        return heads.size.get() + idle.size.get() + fresh.size.get() + bodies.size.get();
    }
}
