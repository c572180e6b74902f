package dev.shepherd.proxy;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import lombok.extern.slf4j.Slf4j;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * {@code fleet.proxy.max-connections}: how many client connections the proxy holds at once, HAProxy's
 * {@code maxconn}. At the limit, a new connection is let in by closing the oldest of those still reading a head,
 * else the one idle longest between requests, or else by refusing the request whose body, read first, came slowest
 * ({@link ReclaimableConnections}: nginx's reuse of connections when it has none free; counted, {@link #reclaimed}),
 * first on the new connection's own event loop, else on the loop that has most (the new connection waits unread for
 * that loop's close). When there is none, the listening sockets stop accepting, so that new connections wait in the
 * kernel's backlog instead of costing the master file descriptors and memory, and accept again as soon as a
 * connection closes or becomes idle (HAProxy pauses its listeners the same way). Accepts already under way when the
 * listeners paused are let in, up to an eighth past the limit (at least 16), not counting connections a reclaim is
 * closing (up to another eighth: a close completes later than the accept that asked for it; while that many are
 * under way the listeners pause too); a connection past that, with nothing to reclaim, is closed at once without a
 * byte read (counted: {@link #refused}). Without the
 * limit, one client that opened connections and sent nothing took every file descriptor the master may open: the
 * proxy, the admin port and the supervisor's pipes to new workers all failed, and the failed accepts filled the log
 * (measured, 2026-12-02, {@code ulimit -n} 20,000); with it alone, 1,300 connections from one client each sending
 * part of a head (past the 1,024 of the README's master flags) left 7 of another client's 20 requests unanswered
 * for 20 s ({@code bench/slowloris.sh}).
 *
 * <p>{@link #admit} and the close listener run on the event loops; pausing and resuming take a lock, and each
 * re-reads the count under it, so that the listeners end up paused exactly when the count is at the limit and no
 * connection can be reclaimed, however closes and accepts on several loops interleave. A pause is logged, and so are
 * reclaimed connections and failed accepts (out of file descriptors, say), at most once per
 * {@link #LOG_INTERVAL_NANOS} each, with how many there were since the last line: at the limit with a full backlog,
 * every close lets one connection in and pauses again.
 */
@Slf4j
final class ConnectionLimit {

    static final long LOG_INTERVAL_NANOS = OccasionalWarning.INTERVAL_NANOS;

    private final int max;
    /**
     * How far past {@code max} connections are still let in: the accepts already under way when the listeners
     * paused (io_uring hands over a batch). Closing them instead reset the clients (measured: ~100 resets out of
     * 50,000 requests at 600 concurrent clients and a limit of 512), where at the limit they should wait.
     */
    private final int slack;
    private final AtomicInteger open = new AtomicInteger();
    /**
     * Connections a reclaim has closed, or asked another loop to close, whose close has not completed: they still
     * count in {@link #open}, but make room already. Counted against the slack, a burst of accepts when the listeners
     * resumed was reset past it while the closes it asked for were under way.
     */
    private final AtomicInteger closing = new AtomicInteger();
    private final List<Channel> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private volatile boolean paused;
    /** Set while {@link #settle} reads the lists: see {@link #listListener}. */
    private volatile boolean settling;
    /** Under {@link #lock}: pauses since the last log line about them, and when that line was written. */
    private long pauses;
    private long lastPauseLog = Long.MIN_VALUE;
    /** Under {@link #lock}: a look at the limit is scheduled for when fresh connections become reclaimable. */
    private boolean recheckScheduled;
    private final AtomicLong refused = new AtomicLong();
    private final OccasionalWarning acceptFailureLog;
    private final AtomicLong reclaimed = new AtomicLong();
    private final OccasionalWarning reclaimLog;
    /** Each event loop's reclaimable connections, made at its first connection. */
    private final Map<EventExecutor, ReclaimableConnections> reclaimable = new ConcurrentHashMap<>();
    private final AtomicLong acceptFailures = new AtomicLong();
    private final LongSupplier nanoTime;

    ConnectionLimit(int max, LongSupplier nanoTime) {
        this.max = max;
        this.slack = Math.max(16, max / 8);
        this.nanoTime = nanoTime;
        this.acceptFailureLog = new OccasionalWarning(nanoTime);
        this.reclaimLog = new OccasionalWarning(nanoTime);
    }

    /** The reclaimable connections of event loop {@code loop}, where its client connections list themselves. */
    ReclaimableConnections reclaimable(EventExecutor loop) {
        return reclaimable.computeIfAbsent(loop, key -> new ReclaimableConnections(key, listListener, nanoTime));
    }

    /** A listening socket to pause at the limit. */
    void listener(Channel listener) {
        listeners.add(listener);
    }

    /** Set on a connection let in for a close asked of another loop, until that loop has closed one. */
    private static final AttributeKey<Boolean> WAITING = AttributeKey.valueOf(ConnectionLimit.class, "waiting");

    /**
     * A client connection was accepted, on its event loop, before its first read; counted until it closes. Past the
     * limit, a reclaimable connection is closed to make room for it, even past the slack: one of its own loop's at
     * once, else one of another loop's, and then it is not read ({@code autoRead} off, {@link #waiting}) until that
     * loop has closed one, or is closed itself (counted as refused) if that loop finds none by then. Returns false
     * when there is none to close and it is past the limit and the slack, not counting connections being closed for
     * room, or when those are a slack already (they hold descriptors until their close completes): the caller closes
     * it.
     */
    boolean admit(Channel connection) {
        int now = open.incrementAndGet();
        int beingClosed = closing.get();
        int held = now - beingClosed;
        connection.closeFuture().addListener(future -> closed());
        if (held > max) {
            // Refused before a reclaim was tried, accepts in a burst when the listeners resumed for idle connections
            // were reset once the slack had filled, while there was room to make (an attacking helper saw 1 in 19 of
            // another client's requests reset while 600 slow requests held every place).
            if (beingClosed < slack && reclaim(connection)) {
                return true;
            }
            settle();
            if (held > max + slack) {
                refused.incrementAndGet();
                return false;
            }
        } else if (held == max) {
            settle();
        }
        return true;
    }

    /**
     * The loop other than {@code own} that lists most, among those with more to close ({@code count}) than closes
     * asked of them; null when none has. Never more asks under way of a loop than it has to close: a burst of accepts
     * asked one loop for its one idle connection again and again, and each ask it could not honour left a connection
     * past the limit.
     */
    private ReclaimableConnections mostOther(ReclaimableConnections own,
                                             java.util.function.ToIntFunction<ReclaimableConnections> count) {
        ReclaimableConnections most = null;
        for (ReclaimableConnections other : reclaimable.values()) {
            if (other != own && count.applyAsInt(other) > other.asked.get()
                    && (most == null || other.size() > most.size())) {
                most = other;
            }
        }
        return most;
    }

    /** Whether {@code connection} waits, unread, for another loop to close a connection for it (see {@link #admit}). */
    static boolean waiting(Channel connection) {
        return connection.hasAttr(WAITING) && connection.attr(WAITING).get() != null;
    }

    /**
     * Closes a reclaimable connection of {@code connection}'s loop, or else has the loop that lists most, among those
     * with one reclaimable now and fewer closes asked of them, close one, while {@code connection} waits unread; a
     * loop that lists no unfinished head while another does has that other loop close one of its heads instead;
     * false when none has one. A close asked of another loop that finds nothing by then closes {@code connection}
     * and settles the listeners. Admitted on the promise of another loop's close and read at once, a connection
     * stayed past the limit when that loop found none by then: connections that go idle for a moment between
     * requests were promised again and again (an attacking helper's 600 slow requests from one host held 275 places
     * at a limit of 200; with two loops and nothing closable yet, one client held 2,637).
     */
    private boolean reclaim(Channel connection) {
        ReclaimableConnections own = reclaimable.get(connection.eventLoop());
        // Unfinished heads go first across the loops, as the README orders them: a loop with only idle connections
        // closed a kept-alive client while another loop listed slowloris heads (found by a reviewing helper).
        ReclaimableConnections withHeads = own == null || own.headCount() > 0 ? null
                : mostOther(own, other -> other.headCount());
        Future<?> closed = own != null && withHeads == null ? own.closeOldest() : null;
        if (closed != null) {
            closing.incrementAndGet();
            closed.addListener(future -> closeDone());
            countReclaimed();
            return true;
        }
        ReclaimableConnections chosen = withHeads != null ? withHeads
                : mostOther(own, ReclaimableConnections::reclaimableCount);
        if (chosen == null) {
            return false;
        }
        closing.incrementAndGet();
        chosen.asked.incrementAndGet();
        connection.attr(WAITING).set(Boolean.TRUE);
        connection.config().setAutoRead(false);
        Runnable ask = () -> {
            chosen.asked.decrementAndGet();
            Future<?> other = chosen.closeOldest();
            if (other != null) {
                other.addListener(future -> closeDone());
                countReclaimed();
                connection.eventLoop().execute(() -> {
                    connection.attr(WAITING).set(null);
                    connection.config().setAutoRead(true);
                });
            } else {
                closeDone();
                refused.incrementAndGet();
                connection.close();
                settle();
            }
        };
        try {
            chosen.loop().execute(ask);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // That loop is shutting down (the proxy stops): the ask is undone, and the caller closes the connection.
            chosen.asked.decrementAndGet();
            closing.decrementAndGet();
            connection.attr(WAITING).set(null);
            connection.config().setAutoRead(true);
            return false;
        }
        if (!anyReclaimable()) {
            settle(); // before the next accept of a burst, rather than after it is refused
        }
        return true;
    }

    /**
     * A close asked for room completed, or was not made: listeners paused while a slack of them were under way
     * resume (the close's own listener, which ran first, saw them still under way).
     */
    private void closeDone() {
        // Whatever paused says: read before a settle under way on another loop stored it, a resume was missed and the
        // listeners stayed paused with room to reclaim (found by a reviewing helper), as closed() settles at max - 1.
        if (closing.decrementAndGet() == slack - 1) {
            settle();
        }
    }

    private void countReclaimed() {
        reclaimed.incrementAndGet();
        long since = reclaimLog.occurred();
        if (since > 0) {
            log.warn("The proxy holds {} client connections (fleet.proxy.max-connections): closed the oldest idle "
                    + "one or one still reading a request head, or refused the request whose body came slowest, to let "
                    + "a new one in ({} time(s) since the last such line)", max, since);
        }
    }

    /**
     * Told by the lists, on their loops: a connection that became reclaimable resumes listeners paused at the limit,
     * and the last one leaving pauses them, rather than letting the next accept in past the limit.
     */
    private final ReclaimableConnections.Listener listListener = new ReclaimableConnections.Listener() {
        @Override
        public void appeared() {
            // settling first: read the other way round, a settle that read the lists before this connection was
            // listed, and paused after this read, could be missed.
            if (settling || paused) {
                settle();
            }
        }

        @Override
        public void emptied() {
            if (!paused && open.get() >= max) {
                settle();
            }
        }
    };

    /** Whether a loop lists a connection it could close now, and more than closes asked of it already. */
    private boolean anyReclaimable() {
        for (ReclaimableConnections one : reclaimable.values()) {
            if (one.reclaimableCount() > one.asked.get()) {
                return true;
            }
        }
        return false;
    }

    private boolean anyTimed() {
        for (ReclaimableConnections one : reclaimable.values()) {
            if (one.timed()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Paused with fresh connections or bodies listed: they may become reclaimable with time alone (listed for
     * {@link ReclaimableConnections#GRACE_NANOS}), so the limit is looked at again then. Under {@link #lock}.
     */
    private void recheckFreshLater() {
        if (recheckScheduled || listeners.isEmpty()) {
            return;
        }
        recheckScheduled = true;
        listeners.get(0).eventLoop().schedule(() -> {
            synchronized (lock) {
                recheckScheduled = false;
            }
            settle();
        }, ReclaimableConnections.GRACE_NANOS, TimeUnit.NANOSECONDS);
    }

    private void closed() {
        // At max - 1 as well as when seen paused: a pause that another loop is deciding right now is settled too.
        if (open.decrementAndGet() == max - 1 || paused) {
            settle();
        }
    }

    /**
     * Pauses the listeners when the count is at the limit and no connection can be reclaimed, or a slack of closes
     * for room are under way; resumes them otherwise.
     */
    private void settle() {
        synchronized (lock) {
            boolean was = paused;
            // Published before the lists are read: a connection listed meanwhile sees it and settles again (after
            // this, under the lock). Not a transient paused = true: a listener's apply task could read that.
            settling = true;
            // A slack of closes under way: admit reclaims no more until one completes, so new connections wait in
            // the backlog rather than be accepted and reset (found by an attacking helper).
            boolean full = open.get() >= max && (closing.get() >= slack || !anyReclaimable());
            paused = full;
            settling = false;
            if (full && anyTimed()) {
                recheckFreshLater();
            }
            boolean changed = full != was;
            // Every listener whose reading differs, not only on a change: Netty's acceptor reopens one a second
            // after a failed accept. One that already reads as asked costs nothing (no task, no wake-up).
            for (Channel listener : listeners) {
                if (listener.config().isAutoRead() != full) {
                    continue;
                }
                if (listener.eventLoop().inEventLoop()) {
                    apply(listener);
                } else {
                    listener.eventLoop().execute(() -> apply(listener));
                }
            }
            if (changed && full) {
                pauses++;
                long now = nanoTime.getAsLong();
                if (lastPauseLog == Long.MIN_VALUE || now - lastPauseLog >= LOG_INTERVAL_NANOS) {
                    lastPauseLog = now;
                    // Said as it is: a pause for closes under way came with heads listed (a reviewing helper's).
                    log.warn("The proxy holds {} client connections (fleet.proxy.max-connections), {}: new connections "
                            + "wait in the listen backlog until one closes or is idle ({} time(s) at the limit since "
                            + "the last such line)", max, closing.get() >= slack ? "and " + slack + " closes to make "
                            + "room are under way" : "none idle or reading a head", pauses);
                    pauses = 0;
                }
            }
        }
    }

    /**
     * Sets a listener's reading to what the count asks for now, on the listener's own event loop: toggled from
     * another thread, an io_uring listener could end up with reading on and no accept submitted (its cancelled
     * accept completing after the new read was asked for), and never accept again (measured, 2026-12-02: one of
     * two listeners stuck after 600 clients churned at the limit).
     */
    private void apply(Channel listener) {
        boolean read = !paused;
        if (listener.config().isAutoRead() != read) {
            listener.config().setAutoRead(read);
        }
    }

    /**
     * A listening socket failed to accept (Netty fires the error on its pipeline; its acceptor has paused that
     * socket for a second). Logged at most once per interval, with the count since the last line.
     */
    void acceptFailed(Throwable cause) {
        acceptFailures.incrementAndGet();
        long failures = acceptFailureLog.occurred();
        if (failures > 0) {
            log.warn("The proxy failed to accept {} connection(s): {} (with too many open files, lower "
                    + "fleet.proxy.max-connections or raise the master's open-file limit, ulimit -n)",
                    failures, cause.getMessage() != null ? cause.getMessage() : cause.toString());
        }
    }

    int max() {
        return max;
    }

    /** Client connections open now. */
    int open() {
        return open.get();
    }

    /** Whether the listeners are paused at the limit now. */
    boolean paused() {
        return paused;
    }

    /** Failed accepts since the start (out of file descriptors, say), each of which paused its listener a second. */
    long acceptFailures() {
        return acceptFailures.get();
    }

    /** Idle or unfinished connections closed, or slowest bodies refused, to let new ones in at the limit, since the start. */
    long reclaimed() {
        return reclaimed.get();
    }

    /** Closes asked for room that have not completed yet. */
    int closing() {
        return closing.get();
    }

    /** Connections closed at once because they were accepted past the limit, since the start. */
    long refused() {
        return refused.get();
    }

    /**
     * The most direct memory one client connection may hold at once, as sized here: a read buffer of the client's
     * (on io_uring it is allocated before the bytes come, up to 64 KB), a response being relayed (the write buffer's
     * high-water mark, 64 KB, plus the worker's read that passed it), the worker connection's own read buffer, and a
     * copy of the request body kept for a retry ({@code retry.buffer-limit}, 64 KB by default).
     */
    static final long DIRECT_BYTES_PER_CONNECTION = 256L << 10;

    /** {@link #DIRECT_BYTES_PER_CONNECTION} with a {@code retry.buffer-limit} of {@code bufferLimit} bytes: more past 64 KB. */
    static long directBytesPerConnection(long bufferLimit) {
        return DIRECT_BYTES_PER_CONNECTION - (64L << 10) + Math.max(64L << 10, bufferLimit);
    }


    /** What an unbounded admin port ({@code server.tomcat.max-connections=-1}) is counted as: Spring Boot's default. */
    static final int UNBOUNDED_ADMIN_CONNECTIONS = 8192;

    /** File descriptors one client connection may hold at once when bodies stream: its own and its worker connection's. */
    static final int DESCRIPTORS_STREAMING = 2;

    /**
     * File descriptors one client connection may hold at once: {@link #DESCRIPTORS_STREAMING}, the temporary file that
     * holds a body past {@code retry.buffer-limit} while it is sent ({@link BodySpool}) when request bodies are read
     * first ({@code fleet.proxy.request-buffering}), and a response's file ({@link SpooledResponse}) when responses are
     * buffered. Budgeting two when bodies were read first, an attacking helper's 1,000 slow uploads under
     * {@code ulimit -n 2048} left the master without descriptors: liveness probes failed with "Too many open files"
     * and healthy workers were killed (2026-12-03).
     */
    static int descriptorsPerConnection(boolean requestBuffering, boolean responseBuffering) {
        return DESCRIPTORS_STREAMING + (requestBuffering ? 1 : 0) + (responseBuffering ? 1 : 0);
    }

    /**
     * The limit to apply: {@code configured}, lowered so that the connections fit in {@code openFileLimit} file
     * descriptors (when known, else -1 or 0), each client connection counted as {@code descriptorsPerConnection}
     * ({@link #descriptorsPerConnection}), after the admin port's
     * {@code adminConnections} ({@code server.tomcat.max-connections}; negative, unbounded, counts as Spring Boot's
     * default, {@link #UNBOUNDED_ADMIN_CONNECTIONS}) and a reserve for the rest of the master (jars, logs, pipes to workers, probes, spawning): a quarter of
     * the limit, at most 1,024. An admin port's connections need no token to be held open: left out, 256 of them
     * took the reserve of a small limit, and a crashed worker could not be restarted (found by an attacking helper,
     * 2026-12-03). Then lowered so that {@code directBytesPerConnection} for each ({@link #directBytesPerConnection})
     * fits in {@code directMemory},
     * the JVM's direct memory limit (when known, else -1 or 0). Past that limit an event loop waits for memory that
     * only it can free, and the proxy stops for good (measured, 2026-12-02: 3,000 clients that read none of a 1 MB
     * response, with the README's 128 MB). Never below 1.
     */
    static int fit(int configured, long openFileLimit, long directMemory, int descriptorsPerConnection,
                   int adminConnections, long directBytesPerConnection) {
        long fits = configured;
        if (openFileLimit > 0) {
            long reserved = Math.min(1024, openFileLimit / 4) + (adminConnections < 0 ? UNBOUNDED_ADMIN_CONNECTIONS : adminConnections);
            fits = Math.min(fits, Math.max(0, openFileLimit - reserved) / descriptorsPerConnection);
        }
        if (directMemory > 0) {
            fits = Math.min(fits, directMemory / directBytesPerConnection);
        }
        return (int) Math.max(1, fits);
    }

    /** {@link #fit} with the default {@code retry.buffer-limit}. */
    static int fit(int configured, long openFileLimit, long directMemory, int descriptorsPerConnection,
                   int adminConnections) {
        return fit(configured, openFileLimit, directMemory, descriptorsPerConnection, adminConnections,
                DIRECT_BYTES_PER_CONNECTION);
    }
}
