package dev.shepherd.proxy;

import dev.shepherd.proxy.SpoolHolder.Stage;
import io.netty.util.concurrent.EventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Room made in a request-body spool at its bound ({@code fleet.proxy.client-body-temp-max-size}), for a body whose part
 * found none ({@link #makeRoom}): a body with bytes in the spool gives them up, chosen by {@link RoomChoice} — a copy
 * kept for a retry first, a queued body of a client over its fair share, the body being read that came slowest lately
 * — and refused on its own event loop ({@link SpoolHolder#refuse}), as a connection is at
 * {@code fleet.proxy.max-connections} ({@link ReclaimableConnections}). With the bound alone, one client that filled it
 * with bodies trickled just above {@code client-body-min-rate} had every other client's upload over
 * {@code retry.buffer-limit} refused for as long as it kept them up (found by an attacking helper, 2026-11-30); whole
 * bodies re-sent to a slow route kept every other client's upload out as well (found by a re-attacking helper,
 * 2026-12-07). nginx, which has no such bound, lets a disk fill instead.
 *
 * <p>Holds the bodies that have bytes in the spool ({@link #holding}, {@link #done}), the bytes that bodies chosen
 * still hold (room coming, which bodies at the bound wait for rather than each having one more refused), and when a
 * look last found none to choose: bodies at the bound look every 10 ms, each through every body, so a look that found
 * none holds for {@link #SCAN_GAP_NANOS} (thousands of waiting bodies over thousands being read would otherwise cost
 * billions of steps a second). Counts the bodies chosen by stage, and says so in the log at most once per interval,
 * with {@link BodySpool}'s logger. Thread-safe: the event loops share it; a body chosen is claimed under its own lock
 * ({@link SpoolHolder#claim}), so that two looks never both refuse it.
 */
final class SpoolRoom {

    /** How long a look that found no body to choose holds, for any client or for one. */
    static final long SCAN_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** The most clients whose last look found none are remembered ({@code noneFor}); past it, all are forgotten. */
    static final int NONE_FOR_MAX = 1024;

    /** The spool's lines keep its logger, which operators filter by. */
    private static final Logger log = LoggerFactory.getLogger(BodySpool.class);

    private final Path directory;
    private final long maxBytes;
    private final SpoolShares shares;
    private final LongSupplier nanoTime;
    /** The bodies that have bytes in files of the spool ({@link #holding}), from their first part to their end. */
    private final Set<SpoolHolder> holders = ConcurrentHashMap.newKeySet();
    /**
     * Bytes that bodies chosen to make room still hold: room coming, which bodies at the bound wait for rather than
     * each refusing one more (found by a re-attacking helper: 10 bodies of 20 KB, racing, refused all 4 uploads of
     * 500 KB where one made room for all, and some were refused at once as none was left to choose).
     */
    private final AtomicLong promised = new AtomicLong();
    /**
     * When a look through the bodies last found none to choose, for any client ({@code noneSince}) or for one
     * ({@code noneFor}, at most {@link #NONE_FOR_MAX} clients), and whether one would be refusable soon.
     */
    private volatile long noneSince = Long.MIN_VALUE / 2;
    private final Map<Object, Long> noneFor = new ConcurrentHashMap<>();
    private volatile long soonSince = Long.MIN_VALUE / 2;
    private volatile boolean soon;
    /** Bodies chosen to make room, by the stage they were in ({@link #roomMade}). */
    private final Map<Stage, AtomicLong> roomMade = new EnumMap<>(Stage.class);
    private final RoomWarnings warnings;

    SpoolRoom(Path directory, long maxBytes, SpoolShares shares, LongSupplier nanoTime) {
        this.directory = directory;
        this.maxBytes = maxBytes;
        this.shares = shares;
        this.nanoTime = nanoTime;
        this.warnings = new RoomWarnings(nanoTime);
        for (Stage stage : Stage.values()) {
            roomMade.put(stage, new AtomicLong());
        }
    }

    /** Lists a body with bytes in the spool, from now until {@link #done} (see {@link BodySpool#holding}). */
    SpoolHolder holding(EventExecutor loop, Runnable refuse, long bytes, Object client, boolean whole) {
        SpoolHolder holder = new SpoolHolder(loop, refuse, client, nanoTime.getAsLong(), bytes, whole);
        holders.add(holder);
        return holder;
    }

    /**
     * {@code holder}'s body was chosen but could not be refused, as it was no longer reading or queued when its loop
     * came to it: its bytes are no longer room coming, and it may be chosen again.
     */
    void spared(SpoolHolder holder) {
        holder.spare(promised);
    }

    /** {@code holder}'s body has gone: it is no longer one to choose, and no longer room coming if it was chosen. */
    void done(SpoolHolder holder) {
        holders.remove(holder);
        holder.leave(promised);
    }

    /**
     * Makes room for a part of {@code length} bytes of a body of {@code client} ({@code asking}, or null when it has
     * no file yet) that found none (see {@link BodySpool#makeRoom}); returns whether room is coming.
     */
    boolean makeRoom(Object client, SpoolHolder asking, long length) {
        boolean past = shares.pastShare(client, length);
        if (!past && promised.get() >= length) {
            return true;
        }
        if (lookHolds(client, nanoTime.getAsLong())) {
            return !past && promised.get() > 0;
        }
        for (int tries = 0; tries < 3; tries++) {
            long now = nanoTime.getAsLong();
            RoomChoice look = new RoomChoice(maxBytes, now);
            SpoolHolder chosen = look.choose(holders, client, asking, length, past);
            if (look.foundNone()) {
                remember(client, look.refusable(), now);
            }
            if (chosen == null || chosen == asking) {
                return !past && promised.get() > 0;
            }
            if (!chosen.claim(promised)) {
                continue; // another body at the bound chose it first, or it went meanwhile
            }
            try {
                chosen.refuse();
            } catch (RejectedExecutionException stopping) {
                return false;
            }
            Stage stage = chosen.stage();
            roomMade.get(stage).incrementAndGet();
            warnings.chosen(stage, directory, maxBytes);
            return true;
        }
        return false;
    }

    /**
     * Whether a body other than {@code asking} is being read that {@link #makeRoom} could choose once it has been read
     * for {@link ReclaimableConnections#GRACE_NANOS} (see {@link BodySpool#refusableSoon}).
     */
    boolean refusableSoon(SpoolHolder asking) {
        long now = nanoTime.getAsLong();
        if (now - soonSince < SCAN_GAP_NANOS) {
            return soon;
        }
        boolean found = false;
        for (SpoolHolder holder : holders) {
            if (holder != asking && holder.stage() == Stage.READING && !holder.chosen()
                    && now - holder.since() < ReclaimableConnections.GRACE_NANOS) {
                found = true;
                break;
            }
        }
        soon = found;
        soonSince = now;
        return found;
    }

    /** A body was refused, as there was no room for it ({@code past}: none within its client's fair share). */
    void refused(boolean past) {
        warnings.refused(past, directory, maxBytes);
    }

    /** Bodies chosen to make room since the start that were at {@code stage} then (see {@link BodySpool#roomMade}). */
    long roomMade(Stage stage) {
        return roomMade.get(stage).get();
    }

    /** Whether the last look that found none, for any client or for {@code client}, holds at {@code now}. */
    private boolean lookHolds(Object client, long now) {
        Long noneForClient = client == null ? null : noneFor.get(client);
        return now - noneSince < SCAN_GAP_NANOS || noneForClient != null && now - noneForClient < SCAN_GAP_NANOS;
    }

    /**
     * A look at {@code now} found no body to choose: none could be ({@code refusable} false), for anyone; or none for
     * {@code client}, by what it holds.
     */
    private void remember(Object client, boolean refusable, long now) {
        if (!refusable) {
            noneSince = now;
        } else if (client != null) {
            if (noneFor.size() >= NONE_FOR_MAX) {
                noneFor.clear();
            }
            noneFor.put(client, now);
        }
    }

    /** What the log says of room made and of bodies refused for want of it: each at most once per interval. */
    private static final class RoomWarnings {

        private final OccasionalWarning full;
        private final OccasionalWarning pastShare;
        private final OccasionalWarning madeRoom;
        private final OccasionalWarning madeRoomQueued;
        private final OccasionalWarning droppedCopies;

        RoomWarnings(LongSupplier nanoTime) {
            this.full = new OccasionalWarning(nanoTime);
            this.pastShare = new OccasionalWarning(nanoTime);
            this.madeRoom = new OccasionalWarning(nanoTime);
            this.madeRoomQueued = new OccasionalWarning(nanoTime);
            this.droppedCopies = new OccasionalWarning(nanoTime);
        }

        /** A body at {@code stage} was chosen to make room in {@code directory}, at its bound of {@code maxBytes}. */
        void chosen(Stage stage, Path directory, long maxBytes) {
            long count = (stage == Stage.SENT ? droppedCopies : stage == Stage.READING ? madeRoom : madeRoomQueued)
                    .occurred();
            if (count > 0 && stage == Stage.SENT) {
                log.info("Let {} request bod{} (since the last such line), sent whole to {} worker{}, give up the copy "
                        + "kept in {} to send {} again, to make room for another at {} ({} bytes): should that "
                        + "worker fail before answering, the request gets 502 rather than a retry", count,
                        count == 1 ? "y" : "ies", count == 1 ? "its" : "their", count == 1 ? "" : "s", directory,
                        count == 1 ? "it" : "them", BodySpool.MAX_SIZE, maxBytes);
            } else if (count > 0 && stage == Stage.READING) {
                log.warn("Refused {} request bod{} (since the last such line) that came slowest of those being read "
                        + "into {}, to make room for another at {} ({} bytes)", count, count == 1 ? "y" : "ies",
                        directory, BodySpool.MAX_SIZE, maxBytes);
            } else if (count > 0) {
                log.warn("Refused {} request bod{} (since the last such line) waiting for a worker, of the client that "
                        + "held the most of {}, to make room for another client's at {} ({} bytes)", count,
                        count == 1 ? "y" : "ies", directory, BodySpool.MAX_SIZE, maxBytes);
            }
        }

        /**
         * A body was refused, as there was no room for it, or none within its client's fair share ({@code past}: then
         * the bound is not what to raise).
         */
        void refused(boolean past, Path directory, long maxBytes) {
            long count = (past ? pastShare : full).occurred();
            if (count > 0 && past) {
                log.warn("Refused {} request bod{} (since the last such line): the bodies kept in {} are at {} ({} "
                        + "bytes), and the client's would pass its fair share of it, other clients' waiting (one "
                        + "client, or one address behind an untrusted proxy, sending many large bodies at once?)",
                        count, count == 1 ? "y" : "ies", directory, BodySpool.MAX_SIZE, maxBytes);
            } else if (count > 0) {
                log.warn("Refused {} request bod{} (since the last such line): the bodies kept in {} are at {} "
                        + "({} bytes), and none being read was slower; raise it if uploads this large at once are "
                        + "expected", count, count == 1 ? "y" : "ies", directory, BodySpool.MAX_SIZE, maxBytes);
            }
        }
    }
}
