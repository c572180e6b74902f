package dev.shepherd.proxy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Each client's share of a request-body spool's bound ({@code fleet.proxy.client-body-temp-max-size}): what its
 * bodies hold, how many of them wait for room, and the bytes they wait to put in; and whether a client would hold
 * more than its max-min fair share ({@link FairShare}) with more. Clients are keyed as
 * {@code fleet.proxy.max-connections-per-client} counts them ({@link ClientConnectionLimit#client}); a key exists only
 * while its client holds some or waits, so there are at most as many as request bodies. Thread-safe: the event loops
 * share it, each update of a client's share atomic ({@link ConcurrentHashMap#compute}).
 */
final class SpoolShares {

    /** The spool's bound, in bytes; 0: none. */
    private final long maxBytes;
    /** What each client holds, waits with, and asks for ({@link Holdings}). */
    private final Map<Object, Holdings> clients = new ConcurrentHashMap<>();
    /** Bodies waiting for room now ({@link #waiting}): while there are, a client past its share takes none. */
    private final AtomicInteger waiters = new AtomicInteger();

    SpoolShares(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /**
     * What one client holds of the spool, how many of its bodies wait for room, and the bytes they wait to put in (its
     * demand beyond its holdings, which {@link #pastShare} counts). Immutable.
     */
    private record Holdings(long bytes, int waiting, long asked) {
        static final Holdings NONE = new Holdings(0, 0, 0);

        /** These with more of each; null when nothing is left, which drops the key. */
        Holdings plus(long bytes, int waiting, long asked) {
            Holdings next = new Holdings(this.bytes + bytes, this.waiting + waiting, this.asked + asked);
            return next.bytes <= 0 && next.waiting <= 0 ? null : next;
        }
    }

    /** {@code client} holds {@code bytes} more (negative: fewer); a client not known counts as nothing. */
    void held(Object client, long bytes) {
        add(client, bytes, 0, 0);
    }

    /**
     * A body of {@code client} starts ({@code waiting}) or stops waiting for room for a part of {@code asked} bytes
     * (the same both times).
     */
    void waiting(Object client, boolean waiting, long asked) {
        waiters.addAndGet(waiting ? 1 : -1);
        add(client, 0, waiting ? 1 : -1, waiting ? asked : -asked);
    }

    /**
     * Whether {@code client} is to leave {@code length} more bytes to others: bodies of other clients wait for room,
     * none of its own does, and it would pass its fair share ({@link #pastShare}) with them.
     */
    boolean yields(Object client, long length) {
        return waiters.get() > 0 && !waits(client) && pastShare(client, length);
    }

    /**
     * Whether {@code client} would hold more than its fair share with {@code length} bytes more: the total passes the
     * bound when every other client's holdings, with the parts its waiting bodies ask for, are capped at what it would
     * hold. Alone, a client is held to nothing but the bound. O(clients), stopping as soon as the bound is passed.
     */
    boolean pastShare(Object client, long length) {
        if (maxBytes <= 0 || client == null) {
            return false;
        }
        Holdings own = clients.get(client);
        long demand = (own == null ? 0 : own.bytes()) + length;
        // Alone, or below the bound with every other claim counted: not past, whatever the demand itself is.
        FairShare look = new FairShare(maxBytes, demand, demand);
        for (Map.Entry<Object, Holdings> other : clients.entrySet()) {
            if (!other.getKey().equals(client) && look.add(other.getValue().bytes() + other.getValue().asked())) {
                return true;
            }
        }
        return false;
    }

    /** How many clients hold some of the spool or wait for room now: the keys kept. */
    int clients() {
        return clients.size();
    }

    /** Whether a body of {@code client} waits for room now: it takes the room made for it. */
    private boolean waits(Object client) {
        Holdings holdings = client == null ? null : clients.get(client);
        return holdings != null && holdings.waiting() > 0;
    }

    /** Adds to what {@code client} holds, has waiting and asks for (a client not known counts as nothing). */
    private void add(Object client, long bytes, int waiting, long asked) {
        if (client != null) {
            clients.compute(client, (key, now) -> (now == null ? Holdings.NONE : now).plus(bytes, waiting, asked));
        }
    }
}
