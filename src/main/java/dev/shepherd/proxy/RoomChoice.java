package dev.shepherd.proxy;

import dev.shepherd.proxy.SpoolHolder.Stage;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One look through a request-body spool's bodies at its bound, for the body to give up its bytes so that a part of
 * {@code length} bytes of another fits ({@link #choose}), in this order:
 * <ol>
 * <li>the largest copy kept for a retry ({@link Stage#SENT}) of the client that holds the most, which costs a request
 * nothing unless its worker then fails (it gets 502 rather than a retry);</li>
 * <li>else the largest queued body ({@link Stage#QUEUED}) of the client that holds the most, if that is another client
 * and holds more than its fair share ({@link #over});</li>
 * <li>else, among the bodies being read for {@link ReclaimableConnections#GRACE_NANOS}, the one that came slowest
 * lately ({@link SpoolHolder#rate}), of a client that holds at least as much as the asking client does in bodies other
 * than the asking one (a client with many bodies in cannot refuse a smaller one's to get more);</li>
 * <li>unless that is the asking body itself or there is none: the largest queued body of the client that holds the
 * most, if that is not the asking client and holds more than it would with this part;</li>
 * <li>else the slowest body found (perhaps the asking one), or none.</li>
 * </ol>
 * Bodies already chosen count for nothing: their bytes are on their way out. A client past its fair share may only have
 * a copy or the slowest body being read go for it.
 *
 * <p>Made for one look and dropped, on the thread that looks (any event loop: the spool is shared); the bodies'
 * numbers it reads may change meanwhile, which only misjudges a body at that moment. O(bodies + clients).
 */
final class RoomChoice {

    /** The spool's bound, in bytes. */
    private final long maxBytes;
    /** The look's moment, on the spool's clock. */
    private final long now;
    /** What each client holds of the spool, by the first pass ({@link #tally}). */
    private final Map<Object, Share> shares = new HashMap<>();
    /** Whether any body could have been chosen: a copy, a queued one, or one read long enough. */
    private boolean refusable;
    /** Whether the look found no body to choose at all. */
    private boolean none;

    RoomChoice(long maxBytes, long now) {
        this.maxBytes = maxBytes;
        this.now = now;
    }

    /** What one client holds of the spool, in this look. */
    private static final class Share {
        static final Share NONE = new Share();
        long bytes;
        SpoolHolder largestSent;
        SpoolHolder largestQueued;
    }

    /**
     * The body to give up its bytes for a part of {@code length} bytes of {@code asking}'s (null: it has no file yet),
     * of {@code client}, among {@code holders} (the order above); null: none. {@code past}: the client is past its fair
     * share already.
     */
    SpoolHolder choose(Iterable<SpoolHolder> holders, Object client, SpoolHolder asking, long length, boolean past) {
        tally(holders);
        Share mostSent = mostHoldingCopies();
        if (mostSent != null) {
            return mostSent.largestSent;
        }
        Share own = shares.getOrDefault(client, Share.NONE);
        Share most = mostHolding(client);
        if (!past && most != null && most.largestQueued != null && over(most, own, own.bytes + length)) {
            // A body being read goes by its rate below, whoever holds the most: a fast upload, the largest holder,
            // was refused where a stalled body of another client was not (found by a re-attacking helper).
            return most.largestQueued;
        }
        long othersOwn = own.bytes - (asking == null || asking.chosen() ? 0 : asking.kept());
        SpoolHolder slowest = slowestRead(holders, othersOwn);
        if (slowest != null && slowest != asking || past) {
            return slowest;
        }
        Share mostQueued = mostHoldingQueued(client, own.bytes + length);
        if (mostQueued != null) {
            return mostQueued.largestQueued;
        }
        none = slowest == null;
        return slowest;
    }

    /** Whether {@link #choose} found no body at all (not even the asking one): a look worth remembering. */
    boolean foundNone() {
        return none;
    }

    /** Whether any body could have been chosen in this look, by its stage and age, whatever its client holds. */
    boolean refusable() {
        return refusable;
    }

    /** The first pass: each client's holdings, its largest copy and its largest queued body (the oldest of equals). */
    private void tally(Iterable<SpoolHolder> holders) {
        for (SpoolHolder holder : holders) {
            if (holder.chosen()) {
                continue;
            }
            Share share = shares.computeIfAbsent(holder.client(), key -> new Share());
            share.bytes += holder.kept();
            if (holder.stage() == Stage.SENT) {
                refusable = true;
                if (share.largestSent == null || holder.kept() > share.largestSent.kept()) {
                    share.largestSent = holder;
                }
            } else if (holder.stage() == Stage.QUEUED) {
                refusable = true;
                SpoolHolder largest = share.largestQueued;
                if (largest == null || holder.kept() > largest.kept()
                        || holder.kept() == largest.kept() && holder.queuedSince() - largest.queuedSince() < 0) {
                    share.largestQueued = holder;
                }
            } else if (holder.stage() == Stage.READING && readLongEnough(holder)) {
                refusable = true;
            }
        }
    }

    /** Of the clients with a copy kept for a retry, the one that holds the most; null: none has one. */
    private Share mostHoldingCopies() {
        Share most = null;
        for (Share share : shares.values()) {
            if (share.largestSent != null && (most == null || share.bytes > most.bytes)) {
                most = share;
            }
        }
        return most;
    }

    /** Of the clients other than {@code client}, the one that holds the most; null: none. */
    private Share mostHolding(Object client) {
        Share most = null;
        for (Map.Entry<Object, Share> entry : shares.entrySet()) {
            Share share = entry.getValue();
            if (!Objects.equals(entry.getKey(), client) && (most == null || share.bytes > most.bytes)) {
                most = share;
            }
        }
        return most;
    }

    /**
     * The body being read long enough that came slowest lately, of a client that holds at least {@code othersOwn};
     * null: none.
     */
    private SpoolHolder slowestRead(Iterable<SpoolHolder> holders, long othersOwn) {
        SpoolHolder slowest = null;
        double slowestRate = Double.MAX_VALUE;
        for (SpoolHolder holder : holders) {
            // Listed, or spared, since the first pass: not in the shares, and so not chosen in this look.
            Share share = shares.get(holder.client());
            if (holder.stage() == Stage.READING && !holder.chosen() && readLongEnough(holder)
                    && share != null && share.bytes >= othersOwn) {
                double rate = holder.rate(now);
                if (rate < slowestRate) {
                    slowestRate = rate;
                    slowest = holder;
                }
            }
        }
        return slowest;
    }

    /**
     * Of the clients other than {@code client} with a queued body that hold more than {@code asked} (what the asking
     * client would hold with its part), the one that holds the most; null: none.
     */
    private Share mostHoldingQueued(Object client, long asked) {
        Share most = null;
        for (Map.Entry<Object, Share> entry : shares.entrySet()) {
            Share share = entry.getValue();
            if (share.largestQueued != null && !Objects.equals(entry.getKey(), client)
                    && share.bytes > asked && (most == null || share.bytes > most.bytes)) {
                most = share;
            }
        }
        return most;
    }

    /** Whether {@code holder} has been read long enough to be refused by its rate. */
    private boolean readLongEnough(SpoolHolder holder) {
        return now - holder.since() >= ReclaimableConnections.GRACE_NANOS;
    }

    /**
     * Whether {@code holder} holds more than its fair share of the bound when the client asking wants {@code demand}
     * bytes in all: max-min fairness (water-filling, as a scheduler shares a link), in which a client holding less than
     * the level leaves the rest to the others, so that many clients holding a little shrink nobody's share (found by a
     * re-attacking helper: the bound divided by the count of clients let 20 addresses trickling 3 KB each keep every
     * upload of 300 KB out). Over when the level is below its holdings: with each share capped at them, the total
     * passes the bound. The asker's own share is among those of the look.
     */
    private boolean over(Share holder, Share asker, long demand) {
        long level = holder.bytes;
        FairShare look = new FairShare(maxBytes, level, level + Math.min(demand, level));
        for (Share share : shares.values()) {
            if (share != holder && share != asker && look.add(share.bytes)) {
                return true;
            }
        }
        return look.passed();
    }
}
