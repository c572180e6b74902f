package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;

import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * Idle keep-alive connections to the workers, owned by one event loop: only that loop's thread touches it, so
 * taking and returning a connection needs no lock. At most {@value #MAX_IDLE_PER_WORKER} shared per worker.
 *
 * <p>HTTP/1.1 has no request ids: a worker that sends a whole response nobody asked for (a late second write, a
 * request body it did not read and took for the next request) has it taken as the answer to the next request on
 * that connection, and each later answer as the one after it, for as long as the connection stays busy (nginx,
 * HAProxy and Envoy alike). While a connection is idle, anything the worker sends closes it ({@link UpstreamHandler}).
 * A connection that has carried a request body is reserved for the client connection that returned it, and closed
 * with it ({@link #MAX_RESERVED}): what a worker made of a body it did not read reaches the client who sent the body.
 * Any other returned connection goes back at once to the client connection that returned it ({@link Owner}); to another
 * client's request, by default, the most recently returned one soon after, or with {@code
 * fleet.proxy.upstream-reuse-delay} only once it has been idle that long (the one idle longest first, or sooner when
 * the worker's list is full), long enough for a late response to arrive and close it rather than reach another
 * client. Either way another client's request takes only a connection whose last answer's end was ACKed: at once a
 * millisecond ago or more, or idle past the kernel's delayed ACK ({@link #answerEndAcked}); a worker that leaves Nagle on
 * holds a late response until that ACK, which would otherwise come with the next request and bring the held response
 * right behind it. A worker seen sending bytes nobody asked for ({@link Endpoint#markOutOfStep}) has no connection reused any
 * more, its idle ones closed: a new connection per request. Whatever the delay, a request that could
 * not be sent again if its connection failed (a POST) waits for
 * one that has settled ({@link #SETTLED_NANOS}, {@link PeerClose}). The delay costs idle connections (about the
 * requests of that long) and CPU. The
 * idle connections it holds are kept within what {@code fleet.proxy.max-connections} budgets file descriptors for
 * ({@link IdleBudget}).
 *
 * <p>A connection is reused only until its idle deadline: {@code fleet.proxy.upstream-idle-timeout} after it was
 * returned, or less when the worker's {@code Keep-Alive: timeout=N} says it closes sooner, so that a request is
 * never sent on a connection the worker is about to close (the keep-alive race behind load balancers in front of
 * Node, whose default {@code keepAliveTimeout} is 5 s). The deadline is checked when a connection is taken, and a
 * {@link #sweep}, which the loop's {@link Sweeper} runs by the earliest deadline, closes expired connections so that
 * they do not linger. Each connection is its own list
 * entry ({@link UpstreamHandler} keeps the links and the deadline): returning one allocates nothing, and a
 * connection that the worker closes or writes to while idle leaves the pool at once ({@link #remove}).
 */
final class UpstreamPool {

    /**
     * The most shared idle connections per worker. Reserved ones are not counted: a few client connections posting
     * fast would fill it with theirs (an attacking helper's reading), and every other client would get a new
     * connection per request.
     */
    static final int MAX_IDLE_PER_WORKER = 1024;
    /** How many of the shared connections it returned last a client connection takes back at once. */
    static final int OWN = 8;

    /**
     * How many idle connections are reserved for one client connection at most, to every worker together: one
     * returned past it is closed. A connection that has carried a request body is only ever reused by the client
     * connection that sent it: a worker that did not read a body may have taken it for requests of its own, whose
     * answers, coming whenever the smuggled requests say, would reach whoever's request went on the connection next.
     * Reserved, they reach the client who sent them (as a response nobody asked for, which marks the worker out of
     * step). Closed with their client connection ({@link #closed}). Counted in the {@link IdleBudget} with or without
     * a reuse delay, since a client connection may hold several, to each worker it posted to lately; past the budget,
     * a connection about to be opened closes the reserved one idle longest first ({@link #acquire}). 64: a keep-alive client
     * posting one request after another, each on a connection idle {@link #SETTLED_NANOS} since its last, keeps
     * reusing them up to 12,800 requests a second.
     */
    static final int MAX_RESERVED = 64;

    /**
     * One client connection's claim on the shared connections it returned last ({@value #OWN}, one per worker it
     * alternates between), and the list of those reserved for it ({@link #MAX_RESERVED}): on its event loop only,
     * like the pool.
     */
    static final class Owner {
        private final UpstreamHandler[] returned = new UpstreamHandler[OWN];
        private int next;
        /** Its reserved idle connections, to every worker, a list through their handlers ({@link #MAX_RESERVED}). */
        private UpstreamHandler reservedNewest;
        private UpstreamHandler reservedOldest;
        private int reserved;
        /** The client connection closed or switched protocols: nothing is reserved for it any more. */
        private boolean closed;

        private void remember(UpstreamHandler connection) {
            returned[next] = connection;
            next = (next + 1) % OWN;
        }
    }
    /**
     * How long a connection must have been idle before a request that could not be sent again if it failed there
     * (a POST; a body not all in hand) goes on it. A worker may close a kept-alive connection right after answering
     * without saying {@code Connection: close} (the JDK's HttpServer does past its 200 idle connections, or after a
     * body of more than 64 KB it did not read; RFC 9112 §9.6 only says it SHOULD say so), and its close arrives a
     * fraction of a millisecond after the response: a request written in between fails with nothing received, which
     * a retriable request survives (retried) but any other gets as a 502, from a healthy worker, often another
     * client's request (found by attack: 0.6 % of the POSTs of 500 keep-alive clients, 8 % of a bystander's while
     * one client posted 70 KB bodies to an endpoint that ignores them). A close leaves the pool once the loop reads it
     * ({@link UpstreamHandler}), and one the kernel has but the loop has not read yet is asked of the kernel
     * ({@link PeerClose}), so a connection idle this long is rarely one of those: a close later than that still
     * meets the request, the race of every proxy that reuses connections. nginx and HAProxy reuse at once
     * and answer those 502s; their remedy is a reuse delay for every request, which {@code upstream-reuse-delay}
     * offers.
     */
    static final long SETTLED_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    /**
     * How long after the end of a connection's last answer was ACKed at once ({@link UpstreamHandler#ackAnswerEnd})
     * another client's request may go on it: long enough for the event loop to read what the ACK let a worker that
     * leaves Nagle on send (on loopback it arrives within the system call that sends the ACK; the loop reads it in its
     * next round) and close the connection. Connections returned within it are passed over, so a pool holds about the
     * requests of a millisecond more.
     */
    static final long ACKED_FOR_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    /**
     * Linux's longest delayed ACK ({@code TCP_DELACK_MAX}, 200 ms): a connection idle this long has had the end of its
     * last answer ACKed by the kernel.
     */
    static final long DELAYED_ACK_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    /**
     * How many idle connections whose answer's end is not ACKed yet ({@link #answerEndAcked}) a request passes over before it
     * opens a new one: bounds the work one request costs. Those returned within {@link #ACKED_FOR_NANOS} are passed
     * over, so it is also the rate of returns to one worker on one event loop, 64,000 a second, past which a request
     * opens a new connection rather than wait for one.
     */
    static final int MAX_PASSED_OVER = 64;

    /** How many of the connections a request passes over it ACKs at most (a system call and a packet each). */
    static final int MAX_ACKS = 4;

    /** How much earlier than the worker's {@code Keep-Alive: timeout} a connection is retired, at most. */
    static final long HINT_MARGIN_NANOS = TimeUnit.SECONDS.toNanos(1);

    /**
     * With a reuse delay, the idle connections of every event loop's pool together, kept within what
     * {@code fleet.proxy.max-connections} leaves them: it budgets a worker connection's file descriptor for each client
     * connection, besides its own and a request body's temporary file ({@link ConnectionLimit#fit}), so the worker connections, busy and idle, must
     * stay within the limit. Once the idle ones reach the limit less the client connections open, a returned
     * connection is closed instead of kept, and a request takes one that is not quiet yet rather than open another.
     * Without it, the connections held quiet ran a master under {@code ulimit -n 1024} out of descriptors (ab -c 200,
     * 2026-12-02). Shared by the loops (an atomic count).
     */
    static final class IdleBudget {
        private final AtomicInteger idle = new AtomicInteger();
        private final IntSupplier left;

        /** @param left how many worker connections the limit leaves now: max-connections less the client connections open */
        IdleBudget(IntSupplier left) {
            this.left = left;
        }

        boolean spent() {
            return idle.get() >= left.getAsInt();
        }

        /** Idle connections in every pool now. */
        int idle() {
            return idle.get();
        }
    }

    /** Idle connections to one worker, a list through their handlers: returned at the newest end. */
    static final class Chain {
        private UpstreamHandler newest;
        private UpstreamHandler oldest;
        private int size;
        private final Idle idle;
        /** What its connections are counted in; null: nothing. */
        private final IdleBudget budget;

        private Chain(Idle idle, IdleBudget budget) {
            this.idle = idle;
            this.budget = budget;
        }
    }

    /**
     * The idle connections to one worker: those any client connection's request may go on, and those reserved for the
     * client connection that returned them ({@link #MAX_RESERVED}).
     */
    static final class Idle {
        private final Chain shared;
        private final Chain reserved;
        private final Chain[] chains;
        private int size;

        /**
         * @param shared what the shared connections are counted in: the budget with a reuse delay, else null
         * @param reserved what the reserved ones are counted in, whatever the delay
         */
        Idle(IdleBudget shared, IdleBudget reserved) {
            this.shared = new Chain(this, shared);
            this.reserved = new Chain(this, reserved);
            this.chains = new Chain[] {this.shared, this.reserved};
        }
    }

    private final Map<Endpoint, Idle> idle = new IdentityHashMap<>();
    /** Asked before a request that could not be sent again goes on a connection: has the worker closed it already? */
    private final PeerClose peerClose = new PeerClose();
    private final long idleTimeoutNanos;
    private final long quietNanos;
    /** What shared idle connections are counted in: with a reuse delay only. */
    private final IdleBudget budget;
    /** What reserved idle connections are counted in, with or without a delay. */
    private final IdleBudget reservedBudget;
    private final LongSupplier nanoTime;
    private final LongConsumer sweepBy;

    /**
     * @param idleTimeoutNanos how long a connection stays reusable at most; 0: connections are never kept
     * @param nanoTime the clock, {@link System#nanoTime} but in tests
     * @param sweepBy told each idle deadline that a sweep must come by ({@link Sweeper#ensureBy})
     */
    UpstreamPool(long idleTimeoutNanos, LongSupplier nanoTime, LongConsumer sweepBy) {
        this(idleTimeoutNanos, 0, null, nanoTime, sweepBy);
    }

    /**
     * @param quietNanos how long a connection one client connection returned stays idle before another's request goes
     *                   on it ({@code fleet.proxy.upstream-reuse-delay}); 0: at once
     * @param budget the budget the idle connections of all pools share: with a delay all of them, without one the
     *               reserved ones ({@link #MAX_RESERVED}); null: none
     */
    UpstreamPool(long idleTimeoutNanos, long quietNanos, IdleBudget budget, LongSupplier nanoTime,
                 LongConsumer sweepBy) {
        this.quietNanos = quietNanos;
        this.budget = quietNanos == 0 ? null : budget;
        this.reservedBudget = budget;
        this.idleTimeoutNanos = idleTimeoutNanos;
        this.nanoTime = nanoTime;
        this.sweepBy = sweepBy;
    }

    /**
     * An open idle connection to {@code endpoint} whose idle deadline has not passed: one that {@code owner} returned
     * (null: none), first a shared one and then one reserved for it; else, of the shared ones whose last answer's
     * end is ACKed ({@link #answerEndAcked}), with no reuse delay the most recently returned, with one the one idle longest
     * if it has been idle that long (or the list is full, or the {@link IdleBudget} spent); else null, and the caller
     * opens one. {@code once}: the request could not be sent
     * again if the connection failed, so only a connection idle for {@link #SETTLED_NANOS} at least will do, the one
     * idle longest, and not one whose close the kernel has received though the loop has not read it yet
     * ({@link PeerClose}). Closes the expired and closed connections it meets on the way.
     */
    UpstreamHandler acquire(Endpoint endpoint, Owner owner, boolean once) {
        UpstreamHandler connection = take(endpoint, owner, once);
        if (connection == null && reservedBudget != null && reservedBudget.spent()) {
            // A new connection is about to open past the budget: one reserved for a client connection that has not
            // used it the longest makes room. Reserved ones are kept within the budget when they are returned, but
            // the client connections opened since may have shrunk it, and no other client can take them.
            closeOldestReserved();
        }
        return connection;
    }

    private UpstreamHandler take(Endpoint endpoint, Owner owner, boolean once) {
        Idle connections = idle.get(endpoint);
        if (connections == null || connections.size == 0) {
            return null;
        }
        if (endpoint.outOfStep()) {
            // It sent bytes nobody asked for: a connection it had may hold more, taken for the next answer.
            closeAll(connections);
            return null;
        }
        long now = nanoTime.getAsLong();
        long settled = once ? SETTLED_NANOS : 0;
        if (owner != null) {
            UpstreamHandler own = ownShared(connections, owner, once, now, settled);
            if (own == null && owner.reserved > 0) {
                own = ownReserved(connections, owner, once, now, settled);
            }
            if (own != null) {
                return own;
            }
        }
        Chain shared = connections.shared;
        int passedOver = 0;
        if (quietNanos == 0 && !once) {
            // No delay: the most recently returned one whose answer's end is ACKed, so that those beyond what the load
            // needs expire.
            UpstreamHandler connection = shared.newest;
            while (connection != null) {
                UpstreamHandler older = connection.older;
                if (now - connection.idleUntil >= 0 || !connection.channel().isActive()) {
                    remove(connection);
                    connection.channel().close();
                } else if (answerEndAcked(connection, now, passedOver < MAX_ACKS)) {
                    remove(connection);
                    return connection;
                } else if (++passedOver == MAX_PASSED_OVER) {
                    return null;
                }
                connection = older;
            }
            return null;
        }
        long quiet = Math.max(quietNanos, settled);
        UpstreamHandler connection = shared.oldest;
        while (connection != null) {
            UpstreamHandler newer = connection.newer;
            long idleFor = now - connection.idleSince;
            boolean usable = idleFor >= quiet || idleFor >= settled && (shared.size >= MAX_IDLE_PER_WORKER
                    || budget != null && budget.spent());
            if (now - connection.idleUntil >= 0 || !connection.channel().isActive()) {
                remove(connection);
                connection.channel().close();
            } else if (!usable) {
                // The longest idle one is not quiet yet, so no other is.
                return null;
            } else if (!answerEndAcked(connection, now, passedOver < MAX_ACKS)) {
                if (++passedOver == MAX_PASSED_OVER) {
                    return null;
                }
            } else if (once && peerClose.seen(connection.channel())) {
                remove(connection);
                connection.channel().close();
            } else {
                remove(connection);
                return connection;
            }
            connection = newer;
        }
        return null;
    }

    /**
     * Whether another client's request may go on idle {@code connection}: the end of its last answer was ACKed at once
     * {@link #ACKED_FOR_NANOS} ago at least, or it has been idle {@link #DELAYED_ACK_MAX_NANOS}; if neither, its
     * answer's end is ACKed now when {@code mayAck}, for a later request. A worker that leaves Nagle's algorithm on
     * holds a late second response until that ACK, which would otherwise ride on the next request and bring the held
     * response right behind it, taken for its answer ({@link UpstreamHandler#ackAnswerEnd}).
     */
    private static boolean answerEndAcked(UpstreamHandler connection, long now, boolean mayAck) {
        if (connection.answerAcked()) {
            return now - connection.answerAckedAt() >= ACKED_FOR_NANOS;
        }
        if (now - connection.idleSince >= DELAYED_ACK_MAX_NANOS) {
            return true;
        }
        if (mayAck) {
            connection.ackAnswerEnd(now);
        }
        return false;
    }

    /** Closes the reserved connection idle longest, of every worker's in this pool, if there is one. */
    private void closeOldestReserved() {
        UpstreamHandler oldest = null;
        for (Idle connections : idle.values()) {
            UpstreamHandler candidate = connections.reserved.oldest;
            if (candidate != null && (oldest == null || candidate.idleSince - oldest.idleSince < 0)) {
                oldest = candidate;
            }
        }
        if (oldest != null) {
            remove(oldest);
            oldest.channel().close();
        }
    }

    /** Of the shared connections {@code owner} returned last, one to take back: see {@link #acquire}. */
    private UpstreamHandler ownShared(Idle connections, Owner owner, boolean once, long now, long settled) {
        for (UpstreamHandler connection : owner.returned) {
            if (connection == null || connection.idleIn != connections.shared || connection.owner != owner) {
                continue;
            }
            if (expiredOrClosed(connection, once, now, settled)) {
                remove(connection);
                connection.channel().close();
            } else if (now - connection.idleSince >= settled) {
                remove(connection);
                return connection;
            }
        }
        return null;
    }

    /**
     * Of the connections reserved for {@code owner}, one to {@code connections}' worker: the most recently returned,
     * or with {@code once} the one idle longest, if it has settled. Walks the owner's list, which holds its
     * connections to every worker, at most {@link #MAX_RESERVED}.
     */
    private UpstreamHandler ownReserved(Idle connections, Owner owner, boolean once, long now, long settled) {
        UpstreamHandler connection = once ? owner.reservedOldest : owner.reservedNewest;
        while (connection != null) {
            UpstreamHandler next = once ? connection.reservedNewer : connection.reservedOlder;
            if (connection.idleIn == connections.reserved) {
                if (expiredOrClosed(connection, once, now, settled)) {
                    remove(connection);
                    connection.channel().close();
                } else if (now - connection.idleSince >= settled) {
                    remove(connection);
                    return connection;
                } else {
                    // Not settled: no newer one is.
                    return null;
                }
            }
            connection = next;
        }
        return null;
    }

    private boolean expiredOrClosed(UpstreamHandler connection, boolean once, long now, long settled) {
        return now - connection.idleUntil >= 0 || !connection.channel().isActive()
                || once && now - connection.idleSince >= settled && peerClose.seen(connection.channel());
    }

    /** {@link #acquire(Endpoint, Owner, boolean)} for a retriable request. */
    UpstreamHandler acquire(Endpoint endpoint, Owner owner) {
        return acquire(endpoint, owner, false);
    }

    /** {@link #acquire(Endpoint, Owner)} for a request of no client connection's: only a quiet connection. */
    UpstreamHandler acquire(Endpoint endpoint) {
        return acquire(endpoint, null);
    }

    /**
     * Keeps a connection whose response ended cleanly for a later request to {@code endpoint}, or closes it.
     *
     * @param keepAliveSeconds the worker's {@code Keep-Alive: timeout} on the last response, or -1
     */
    void release(Endpoint endpoint, UpstreamHandler connection, int keepAliveSeconds) {
        release(endpoint, connection, keepAliveSeconds, null);
    }

    /**
     * {@link #release(Endpoint, UpstreamHandler, int)}, which {@code owner} may take back at once. A connection that
     * has carried a request body is kept for {@code owner} alone ({@link #MAX_RESERVED}): closed when there is none.
     */
    void release(Endpoint endpoint, UpstreamHandler connection, int keepAliveSeconds, Owner owner) {
        long keepNanos = keepNanos(keepAliveSeconds);
        boolean reserve = connection.carriedBody;
        Idle connections = keepNanos > 0 && endpoint.isAccepting()
                ? idle.computeIfAbsent(endpoint, key -> new Idle(budget, reservedBudget)) : null;
        if (connections == null || endpoint.outOfStep()
                || (reserve ? owner == null || owner.closed || owner.reserved >= MAX_RESERVED
                        || reservedBudget != null && reservedBudget.spent()
                        : connections.shared.size >= MAX_IDLE_PER_WORKER || budget != null && budget.spent())) {
            connection.channel().close();
            return;
        }
        long now = nanoTime.getAsLong();
        connection.idleSince = now;
        connection.idleUntil = now + keepNanos;
        connection.owner = owner;
        Chain chain;
        if (reserve) {
            chain = connections.reserved;
            connection.reservedOlder = owner.reservedNewest;
            if (owner.reservedNewest == null) {
                owner.reservedOldest = connection;
            } else {
                owner.reservedNewest.reservedNewer = connection;
            }
            owner.reservedNewest = connection;
            owner.reserved++;
        } else {
            chain = connections.shared;
            if (owner != null) {
                owner.remember(connection);
            }
        }
        connection.idleIn = chain;
        connection.older = chain.newest;
        if (chain.newest == null) {
            chain.oldest = connection;
        } else {
            chain.newest.newer = connection;
        }
        chain.newest = connection;
        chain.size++;
        connections.size++;
        if (chain.budget != null) {
            chain.budget.idle.incrementAndGet();
        }
        sweepBy.accept(connection.idleUntil);
    }

    /**
     * The client connection {@code owner} closed, or switched protocols (no request follows): the connections
     * reserved for it are closed, and none is reserved for it any more. On the pool's event loop.
     */
    void closed(Owner owner) {
        owner.closed = true;
        long now = 0; // read once, when an answer is left to ACK: not at every client connection's close
        boolean read = false;
        for (UpstreamHandler returned : owner.returned) {
            // The answers it got were left for its next request to ACK, which will not come: ACKed now, so that what a
            // worker that leaves Nagle on holds behind one (a late second response) arrives while the connection is
            // idle (UpstreamHandler#ackAnswerEnd), and another client's request may take it soon after
            // (#answerEndAcked). A client that sends HTTP/1.1 without Connection: close and closes after one answer
            // (curl, most scripts) is such a client.
            if (returned != null && returned.owner == owner && returned.idleIn != null && !returned.answerAcked()) {
                if (!read) {
                    now = nanoTime.getAsLong();
                    read = true;
                }
                returned.ackAnswerEnd(now);
            }
        }
        UpstreamHandler connection;
        while ((connection = owner.reservedNewest) != null) {
            remove(connection);
            connection.channel().close();
        }
    }

    /**
     * How long a connection stays reusable: the idle timeout, or the worker's hint less a safety margin (a second,
     * half the hint when it is shorter than two), whichever is shorter. The margin covers the time between the
     * worker starting its clock (when it finished writing) and our request reaching it.
     */
    long keepNanos(int keepAliveSeconds) {
        if (keepAliveSeconds < 0) {
            return idleTimeoutNanos;
        }
        long hint = TimeUnit.SECONDS.toNanos(keepAliveSeconds);
        return Math.min(idleTimeoutNanos, hint - Math.min(HINT_MARGIN_NANOS, hint / 2));
    }

    /** Takes a connection out of the pool it is in, if any. */
    static void remove(UpstreamHandler connection) {
        Chain chain = connection.idleIn;
        if (chain == null) {
            return;
        }
        if (connection.newer == null) {
            chain.newest = connection.older;
        } else {
            connection.newer.older = connection.older;
        }
        if (connection.older == null) {
            chain.oldest = connection.newer;
        } else {
            connection.older.newer = connection.newer;
        }
        connection.newer = null;
        connection.older = null;
        connection.idleIn = null;
        if (chain == chain.idle.reserved) {
            Owner owner = connection.owner;
            if (connection.reservedNewer == null) {
                owner.reservedNewest = connection.reservedOlder;
            } else {
                connection.reservedNewer.reservedOlder = connection.reservedOlder;
            }
            if (connection.reservedOlder == null) {
                owner.reservedOldest = connection.reservedNewer;
            } else {
                connection.reservedOlder.reservedNewer = connection.reservedNewer;
            }
            connection.reservedNewer = null;
            connection.reservedOlder = null;
            owner.reserved--;
        }
        chain.size--;
        chain.idle.size--;
        if (chain.budget != null) {
            chain.budget.idle.decrementAndGet();
        }
    }

    /**
     * Closes the connections whose idle deadline has passed, then hands the earliest deadline left to the sweeper.
     * Every connection is looked at, not only the oldest: a worker's {@code Keep-Alive} hint may change between
     * responses, so a newer connection can expire first. On the pool's event loop, when the sweeper finds it due.
     */
    void sweep() {
        if (idle.isEmpty()) {
            return;
        }
        long now = nanoTime.getAsLong();
        boolean left = false;
        long earliest = 0;
        for (Idle connections : idle.values()) {
            for (Chain chain : connections.chains) {
                UpstreamHandler connection = chain.oldest;
                while (connection != null) {
                    UpstreamHandler newer = connection.newer;
                    if (now - connection.idleUntil >= 0) {
                        remove(connection);
                        connection.channel().close();
                    } else if (!left || connection.idleUntil - earliest < 0) {
                        left = true;
                        earliest = connection.idleUntil;
                    }
                    connection = newer;
                }
            }
        }
        if (left) {
            sweepBy.accept(earliest);
        }
    }

    /** How many idle connections the pool holds for {@code endpoint}, shared and reserved. */
    int idleCount(Endpoint endpoint) {
        Idle connections = idle.get(endpoint);
        return connections == null ? 0 : connections.size;
    }

    /** Closes the idle connections to one worker: one of them just failed, so its siblings are suspect too. */
    void drop(Endpoint endpoint) {
        Idle connections = idle.remove(endpoint);
        if (connections != null) {
            closeAll(connections);
        }
    }

    /** Closes the idle connections of every worker that is no longer in rotation. */
    void retainOnly(Set<Endpoint> ready) {
        Iterator<Map.Entry<Endpoint, Idle>> entries = idle.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<Endpoint, Idle> entry = entries.next();
            if (!ready.contains(entry.getKey())) {
                closeAll(entry.getValue());
                entries.remove();
            }
        }
    }

    void closeAll() {
        idle.values().forEach(UpstreamPool::closeAll);
        idle.clear();
    }

    private static void closeAll(Idle connections) {
        for (Chain chain : connections.chains) {
            UpstreamHandler connection;
            while ((connection = chain.newest) != null) {
                remove(connection);
                connection.channel().close();
            }
        }
    }
}
