package dev.shepherd.proxy;

import dev.shepherd.FileProblems;
import dev.shepherd.InvalidSetting;
import io.netty.util.concurrent.EventExecutor;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Where the proxy keeps the part of a request body that it reads before picking a worker and that does not fit
 * in memory ({@code fleet.proxy.retry.buffer-limit}): a file of its own per body, in
 * {@code fleet.proxy.client-body-temp-path} (nginx's {@code client_body_temp_path}), readable by the master's user
 * only and unlinked as soon as it is open, as nginx does, so that nothing is left behind when the request ends or the
 * master dies. Files are opened on the event loops: a few system calls per body over the limit, no more. The part of
 * a response that its client reads slower than the worker sends it is kept the same way, in a spool of its own
 * ({@link #forResponses}: {@code fleet.proxy.response-temp-path}, nginx's {@code proxy_temp_path}).
 *
 * <p>Bounded: at most {@code fleet.proxy.client-body-temp-max-size} bytes in all ({@link #reserve}); one client
 * trickling 150 bodies of 10 MB just above the minimum rate held 1.5 GB for minutes, 10 GB at the default connection
 * limit, in a {@code /tmp} that is memory on many systems (found by an attacking helper). At the bound, the body
 * still being read that has come slowest lately is refused to make room ({@link #makeRoom}), as a connection is at
 * {@code fleet.proxy.max-connections}: with the bound alone, one client that filled it with bodies trickled just above
 * {@code client-body-min-rate} had every other client's upload over {@code retry.buffer-limit} refused for as long as it
 * kept them up (found by an attacking helper, 2026-11-30). When no body being read can be refused, a whole body waiting
 * in the queue for its first worker is, of the client that holds the most of the spool, if that is another client
 * than the one asking and holds more than it would: whole bodies re-sent to a slow route kept every other client's
 * upload out as well (found by a re-attacking helper, 2026-12-07). Before any of these, a body written whole to its
 * worker gives up the copy kept to send it again ({@link Stage#SENT}). A client is counted as
 * {@code fleet.proxy.max-connections-per-client} counts them ({@link ClientConnectionLimit#client}). Thread-safe.
 */
@Slf4j
final class BodySpool {

    static final String PROPERTY = "fleet.proxy.client-body-temp-path";

    /** The bound's property. */
    static final String MAX_SIZE = "fleet.proxy.client-body-temp-max-size";

    /** The responses' spool's properties. */
    static final String RESPONSE_PROPERTY = "fleet.proxy.response-temp-path";
    static final String RESPONSE_MAX_SIZE = "fleet.proxy.response-temp-max-size";
    static final String RESPONSE_FILE_MAX_SIZE = "fleet.proxy.response-temp-file-max-size";

    /** What a file holds, as the log says it: "request body", "response"; and two of them. */
    private final String one;
    private final String many;
    private final Path directory;
    /** The most bytes kept at once; 0: no limit. */
    private final long maxBytes;
    /** The most bytes one file keeps at once ({@link #RESPONSE_FILE_MAX_SIZE}); 0: no limit but {@link #maxBytes}. */
    private final long maxFileBytes;
    private final AtomicLong bytes = new AtomicLong();
    /** Each client's share of the bound ({@link #reserve}, {@link #waiting}). */
    private final SpoolShares shares;
    private final LongSupplier nanoTime;
    /** The bodies that have bytes in files of this spool ({@link #holding}), from their first part to their end. */
    private final Set<Holder> holders = ConcurrentHashMap.newKeySet();
    /**
     * Bytes that bodies refused for room still hold ({@link #makeRoom}): room coming, which bodies at the bound wait
     * for rather than each refusing one more (found by a re-attacking helper: 10 bodies of 20 KB, racing, refused all
     * 4 uploads of 500 KB where one made room for all, and some were refused at once as none was left to choose).
     */
    private final AtomicLong promised = new AtomicLong();
    /**
     * When a look through the bodies last found none to refuse, for any client ({@code noneSince}) or for one
     * ({@code noneFor}, at most {@link #NONE_FOR_MAX} clients), and whether one would be refusable soon: bodies at
     * the bound look every 10 ms, each through every body, so a look that found none holds for {@link #SCAN_GAP_NANOS}
     * (thousands of waiting bodies over thousands being read would otherwise cost billions of steps a second).
     */
    private volatile long noneSince = Long.MIN_VALUE / 2;
    private final Map<Object, Long> noneFor = new ConcurrentHashMap<>();
    static final int NONE_FOR_MAX = 1024;
    private volatile long soonSince = Long.MIN_VALUE / 2;
    private volatile boolean soon;
    static final long SCAN_GAP_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** A full disk fails every upload past the limit: one line per interval, not one per request. */
    private final OccasionalWarning failures;
    private final OccasionalWarning full;
    private final OccasionalWarning pastShare;
    private final OccasionalWarning madeRoom;
    private final OccasionalWarning madeRoomQueued;
    private final OccasionalWarning droppedCopies;
    /** Bodies chosen to make room, by the stage they were in ({@link #roomMade}). */
    private final Map<Stage, AtomicLong> roomMade = new java.util.EnumMap<>(Stage.class);

    private BodySpool(String one, String many, Path directory, long maxBytes, long maxFileBytes, LongSupplier nanoTime) {
        this.one = one;
        this.many = many;
        this.directory = directory;
        this.maxBytes = maxBytes;
        this.maxFileBytes = maxFileBytes;
        this.nanoTime = nanoTime;
        this.shares = new SpoolShares(maxBytes);
        this.failures = new OccasionalWarning(nanoTime);
        this.full = new OccasionalWarning(nanoTime);
        this.pastShare = new OccasionalWarning(nanoTime);
        this.madeRoom = new OccasionalWarning(nanoTime);
        this.madeRoomQueued = new OccasionalWarning(nanoTime);
        this.droppedCopies = new OccasionalWarning(nanoTime);
        for (Stage stage : Stage.values()) {
            roomMade.put(stage, new AtomicLong());
        }
    }

    /** What a body with bytes in the spool is doing, as far as {@link #makeRoom} cares. */
    enum Stage {
        /** Being read: refusable, by its rate, once read for {@link ReclaimableConnections#GRACE_NANOS}. */
        READING,
        /** Whole, and waiting in the queue for its first worker: refusable for another client. */
        QUEUED,
        /** Whole, and with a worker (or between attempts): not refusable, but counted in its client's share. */
        WHOLE,
        /**
         * Whole, and written whole to its worker: its file is a copy kept only to send it again should that worker
         * fail before answering, which it can give up for room.
         */
        SENT
    }

    /**
     * A body with bytes in a file of this spool ({@link #holding}), which {@link #makeRoom} may refuse: its rate is
     * what it has read over the last {@link #WINDOW_NANOS} to twice that (since it was listed, at first), so that a body
     * sent fast and then trickled counts as slow, which its rate since its start would hide for minutes. Its numbers
     * are written on its event loop and read by any thread: a torn look only misjudges its rate at that moment.
     */
    static final class Holder {
        /** How far back a rate looks, at least. */
        static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);

        private final EventExecutor loop;
        private final Runnable refuse;
        private final Object client;
        private final long since;
        private volatile Stage stage;
        /** Since when it waits in the queue ({@link Stage#QUEUED}). */
        private volatile long queuedSince;
        /** Chosen to be refused for room; and gone (let go): both under the holder's lock. */
        private volatile boolean chosen;
        private boolean gone;
        private volatile long bytes;
        /** Bytes of it the spool counts ({@link #reserve}); and, once chosen, those counted as room coming. */
        private volatile long kept;
        private long promised;
        /** The older and the newer mark: when, and the bytes read by then. The rate runs from the older. */
        private volatile long fromNanos;
        private volatile long fromBytes;
        private volatile long markNanos;
        private volatile long markBytes;

        private Holder(EventExecutor loop, Runnable refuse, Object client, long now, long bytes, boolean whole) {
            this.loop = loop;
            this.refuse = refuse;
            this.client = client;
            this.since = now;
            this.stage = whole ? Stage.WHOLE : Stage.READING;
            this.bytes = bytes;
            this.fromNanos = now;
            this.fromBytes = bytes;
            this.markNanos = now;
            this.markBytes = bytes;
        }

        /** The body has {@code total} bytes now; on its loop. */
        void read(long total, long now) {
            bytes = total;
            if (now - markNanos >= WINDOW_NANOS) {
                fromNanos = markNanos;
                fromBytes = markBytes;
                markNanos = now;
                markBytes = total;
            }
        }

        /** The spool counts {@code total} bytes of the body now; on its loop. */
        void kept(long total) {
            kept = total;
        }

        /** Bytes a second lately ({@link Holder}). */
        double rate(long now) {
            return Math.max(0, bytes - fromBytes) / Math.max(1e-3, (now - fromNanos) / 1e9);
        }

        Stage stage() {
            return stage;
        }
    }

    /**
     * Lists a body of {@code client} ({@link ClientConnectionLimit#client}, or any key of its own) with bytes in a file
     * of this spool, that has {@code bytes} bytes so far and is being read unless {@code whole}, from now until
     * {@link #done}: {@code refuse} runs on {@code loop} if {@link #makeRoom} chooses it, and must answer its request
     * (503) and give its bytes back, or, when the body is no longer refusable ({@link #spared}), say so.
     */
    Holder holding(EventExecutor loop, Runnable refuse, long bytes, Object client, boolean whole) {
        Holder holder = new Holder(loop, refuse, client, nanoTime.getAsLong(), bytes, whole);
        holders.add(holder);
        return holder;
    }

    /** {@code holder}'s body is whole: no longer refusable for its rate. */
    void whole(Holder holder) {
        holder.stage = Stage.WHOLE;
    }

    /**
     * {@code holder}'s whole body waits in the queue for its first worker ({@code queued}), refusable for another
     * client's, or no longer does.
     */
    void queued(Holder holder, boolean queued) {
        if (queued && holder.stage == Stage.WHOLE) {
            holder.queuedSince = nanoTime.getAsLong();
            holder.stage = Stage.QUEUED;
        } else if (!queued && holder.stage == Stage.QUEUED) {
            holder.stage = Stage.WHOLE;
        }
    }

    /**
     * {@code holder}'s whole body has been written whole to its worker ({@code sent}): its file is a copy for a retry,
     * which {@link #makeRoom} may have it give up; or it is being written (again), or waits between attempts.
     */
    void sent(Holder holder, boolean sent) {
        if (sent && holder.stage == Stage.WHOLE) {
            holder.stage = Stage.SENT;
        } else if (!sent && holder.stage == Stage.SENT) {
            holder.stage = Stage.WHOLE;
        }
    }

    /**
     * {@code holder}'s body was chosen ({@link #makeRoom}) but could not be refused, as it was no longer reading or
     * queued when its loop came to it: its bytes are no longer room coming, and it may be chosen again.
     */
    void spared(Holder holder) {
        synchronized (holder) {
            if (holder.chosen && !holder.gone) {
                promised.addAndGet(-holder.promised);
                holder.promised = 0;
                holder.chosen = false;
            }
        }
    }

    /**
     * {@code holder}'s body has gone, its bytes given back first: it is no longer one to refuse, and no longer room
     * coming if it was refused for room.
     */
    void done(Holder holder) {
        holders.remove(holder);
        synchronized (holder) {
            holder.gone = true;
            promised.addAndGet(-holder.promised);
            holder.promised = 0;
        }
    }

    /** Now, on the clock of this spool's bodies ({@link Holder#read}). */
    long now() {
        return nanoTime.getAsLong();
    }

    /**
     * At the bound, for a part of {@code length} bytes of a body of {@code client} that found no room ({@code asking},
     * listed, or null when it has no file yet): when bodies refused for room still hold at least that much, the room
     * is coming, and nothing more is refused, unless {@code client} would hold more than its fair share with it
     * ({@link #pastShare}): then it counts on no room made for others, and may only have a copy given up or a slow body
     * of a client holding as much as it refused ({@link #choose}). Else chooses a body to refuse and has its loop
     * refuse it, which gives its bytes back soon after. Returns whether room is coming; false when there is none coming and
     * none to refuse, or when the body to refuse is {@code asking} itself: then it is the one refused. nginx, which
     * has no such bound, lets a disk fill instead; this is how {@link ReclaimableConnections} makes room for a
     * connection.
     */
    boolean makeRoom(Object client, Holder asking, long length) {
        boolean past = pastShare(client, length);
        if (!past && promised.get() >= length) {
            return true;
        }
        long now = nanoTime.getAsLong();
        Long noneForClient = client == null ? null : noneFor.get(client);
        if (now - noneSince < SCAN_GAP_NANOS || noneForClient != null && now - noneForClient < SCAN_GAP_NANOS) {
            return !past && promised.get() > 0;
        }
        for (int tries = 0; tries < 3; tries++) {
            now = nanoTime.getAsLong();
            Holder chosen = choose(client, asking, length, past, now);
            if (chosen == null || chosen == asking) {
                return !past && promised.get() > 0;
            }
            synchronized (chosen) {
                if (chosen.chosen || chosen.gone) {
                    continue; // another body at the bound chose it first, or it went meanwhile
                }
                chosen.chosen = true;
                chosen.promised = chosen.kept;
                promised.addAndGet(chosen.promised);
            }
            try {
                chosen.loop.execute(chosen.refuse);
            } catch (RejectedExecutionException stopping) {
                return false;
            }
            Stage stage = chosen.stage;
            roomMade.get(stage).incrementAndGet();
            boolean reading = stage == Stage.READING;
            long count = (stage == Stage.SENT ? droppedCopies : reading ? madeRoom : madeRoomQueued).occurred();
            if (count > 0 && stage == Stage.SENT) {
                log.info("Let {} request bod{} (since the last such line), sent whole to {} worker{}, give up the copy "
                        + "kept in {} to send {} again, to make room for another at {} ({} bytes): should that "
                        + "worker fail before answering, the request gets 502 rather than a retry", count,
                        count == 1 ? "y" : "ies", count == 1 ? "its" : "their", count == 1 ? "" : "s", directory,
                        count == 1 ? "it" : "them", MAX_SIZE, maxBytes);
            } else if (count > 0 && reading) {
                log.warn("Refused {} request bod{} (since the last such line) that came slowest of those being read "
                        + "into {}, to make room for another at {} ({} bytes)", count, count == 1 ? "y" : "ies",
                        directory, MAX_SIZE, maxBytes);
            } else if (count > 0) {
                log.warn("Refused {} request bod{} (since the last such line) waiting for a worker, of the client that "
                        + "held the most of {}, to make room for another client's at {} ({} bytes)", count,
                        count == 1 ? "y" : "ies", directory, MAX_SIZE, maxBytes);
            }
            return true;
        }
        return false;
    }

    /**
     * The body to make room for a part of {@code length} bytes of {@code asking}'s, of {@code client}: first, the
     * largest copy kept for a retry ({@link Stage#SENT}) of the client that holds the most, which costs a request
     * nothing unless its worker then fails (it gets 502 rather than a retry); else a body of the client that holds the
     * most, if that is another client and holds more than its fair share ({@link #over}): its largest body queued; else,
     * among all the bodies being read that long, the one that came slowest lately ({@link Holder#rate}), of a client
     * that holds at least as much as {@code client} does in bodies other than {@code asking} (a client with many
     * bodies in cannot refuse a smaller one's to get more); unless that is {@code asking} itself or there is none, then
     * the largest whole body waiting in the queue ({@link Stage#QUEUED}) of the client that holds the most, if that is
     * not {@code client} and holds more than {@code client} would with this part; else the slowest body found, or null.
     * Bodies already chosen count for nothing: their bytes are on their way out. When {@code past}, the client asking is
     * past its fair share: only a copy or the slowest body being read may go for it. Remembers a look that found none.
     */
    private Holder choose(Object client, Holder asking, long length, boolean past, long now) {
        Map<Object, Share> shares = new HashMap<>();
        boolean refusable = false;
        for (Holder holder : holders) {
            if (holder.chosen) {
                continue;
            }
            Share share = shares.computeIfAbsent(holder.client, key -> new Share());
            share.bytes += holder.kept;
            if (holder.stage == Stage.SENT) {
                refusable = true;
                if (share.largestSent == null || holder.kept > share.largestSent.kept) {
                    share.largestSent = holder;
                }
            } else if (holder.stage == Stage.QUEUED) {
                refusable = true;
                Holder largest = share.largestQueued;
                if (largest == null || holder.kept > largest.kept
                        || holder.kept == largest.kept && holder.queuedSince - largest.queuedSince < 0) {
                    share.largestQueued = holder;
                }
            } else if (holder.stage == Stage.READING && now - holder.since >= ReclaimableConnections.GRACE_NANOS) {
                refusable = true;
            }
        }
        Share mostSent = null;
        Share most = null;
        for (Map.Entry<Object, Share> entry : shares.entrySet()) {
            Share share = entry.getValue();
            if (share.largestSent != null && (mostSent == null || share.bytes > mostSent.bytes)) {
                mostSent = share;
            }
            if (!Objects.equals(entry.getKey(), client) && (most == null || share.bytes > most.bytes)) {
                most = share;
            }
        }
        if (mostSent != null) {
            return mostSent.largestSent;
        }
        Share own = shares.getOrDefault(client, Share.NONE);
        if (!past && most != null && most.largestQueued != null && over(most, own, own.bytes + length, shares.values())) {
            // A body being read goes by its rate below, whoever holds the most: a fast upload, the largest holder,
            // was refused where a stalled body of another client was not (found by a re-attacking helper).
            return most.largestQueued;
        }
        long othersOwn = own.bytes - (asking == null || asking.chosen ? 0 : asking.kept);
        Holder slowest = null;
        double slowestRate = Double.MAX_VALUE;
        for (Holder holder : holders) {
            // Listed, or spared, since the first pass: not in the shares, and so not refused in this look.
            Share share = shares.get(holder.client);
            if (holder.stage == Stage.READING && !holder.chosen && now - holder.since >= ReclaimableConnections.GRACE_NANOS
                    && share != null && share.bytes >= othersOwn) {
                double rate = holder.rate(now);
                if (rate < slowestRate) {
                    slowestRate = rate;
                    slowest = holder;
                }
            }
        }
        if (slowest != null && slowest != asking || past) {
            return slowest;
        }
        Share mostQueued = null;
        for (Map.Entry<Object, Share> entry : shares.entrySet()) {
            Share share = entry.getValue();
            if (share.largestQueued != null && !Objects.equals(entry.getKey(), client)
                    && share.bytes > own.bytes + length && (mostQueued == null || share.bytes > mostQueued.bytes)) {
                mostQueued = share;
            }
        }
        if (mostQueued != null) {
            return mostQueued.largestQueued;
        }
        if (slowest == null) {
            if (!refusable) {
                noneSince = now;
            } else if (client != null) {
                if (noneFor.size() >= NONE_FOR_MAX) {
                    noneFor.clear();
                }
                noneFor.put(client, now);
            }
        }
        return slowest;
    }

    /** What one client holds of the spool, in a look through it ({@link #choose}). */
    private static final class Share {
        static final Share NONE = new Share();
        long bytes;
        Holder largestSent;
        Holder largestQueued;
    }

    /**
     * Whether {@code holder} holds more than its fair share of the bound when the client asking wants {@code demand}
     * bytes in all: max-min fairness (water-filling, as a scheduler shares a link), in which a client holding less than
     * the level leaves the rest to the others, so that many clients holding a little shrink nobody's share (found by a
     * re-attacking helper: the bound divided by the count of clients let 20 addresses trickling 3 KB each keep every
     * upload of 300 KB out). Over when the level is below its holdings: with each share capped at them, the total
     * passes the bound. Shares from a look ({@link #choose}); the asker's own among them.
     */
    private boolean over(Share holder, Share asker, long demand, Iterable<Share> shares) {
        long level = holder.bytes;
        FairShare look = new FairShare(maxBytes, level, level + Math.min(demand, level));
        for (Share share : shares) {
            if (share != holder && share != asker && look.add(share.bytes)) {
                return true;
            }
        }
        return look.passed();
    }

    /**
     * As {@link SpoolShares#pastShare}: whether {@code client} would hold more than its fair share ({@link #over})
     * with {@code length} bytes more.
     */
    boolean pastShare(Object client, long length) {
        return shares.pastShare(client, length);
    }

    /**
     * A body of {@code client} starts ({@code waiting}) or stops waiting for room ({@link #makeRoom}) for a part of
     * {@code asked} bytes (the same both times): while any does, a
     * client with none waiting that would pass its fair share gets no room ({@link #reserve}), so the room made goes to
     * the bodies waiting and not to the
     * client that keeps sending (found by a re-attacking helper: the room made for another client's upload was taken by
     * the next body of the client whose bodies were refused for it, 197 times for 4 uploads).
     */
    void waiting(Object client, boolean waiting, long asked) {
        shares.waiting(client, waiting, asked);
    }

    /**
     * Whether a body other than {@code asking} is being read that {@link #makeRoom} could refuse once it has been read
     * for {@link ReclaimableConnections#GRACE_NANOS}: a body at the bound waits for that rather than being refused at
     * once (found by a re-attacking helper: a spool full of bodies less than a second old refused every newcomer in
     * 2 ms, though it may wait a second).
     */
    boolean refusableSoon(Holder asking) {
        long now = nanoTime.getAsLong();
        if (now - soonSince < SCAN_GAP_NANOS) {
            return soon;
        }
        boolean found = false;
        for (Holder holder : holders) {
            if (holder != asking && holder.stage == Stage.READING && !holder.chosen
                    && now - holder.since < ReclaimableConnections.GRACE_NANOS) {
                found = true;
                break;
            }
        }
        soon = found;
        soonSince = now;
        return found;
    }

    /**
     * Counts {@code length} more bytes of a request body of {@code client} kept, unless that passes {@link #MAX_SIZE},
     * or passes the client's fair share ({@link #pastShare}) while bodies of other clients wait for room; returns
     * whether they were counted.
     */
    boolean reserve(Object client, long length) {
        if (shares.yields(client, length) || !count(length)) {
            return false;
        }
        shares.held(client, length);
        return true;
    }

    /** Gives back {@code length} bytes of {@code client}'s counted by {@link #reserve}. */
    void release(Object client, long length) {
        release(length);
        if (length != 0) {
            shares.held(client, -length);
        }
    }

    /**
     * A body was refused, as there was no room for it, or none within its client's fair share ({@code past}: then the
     * bound is not what to raise): each said at most once per interval.
     */
    void refused(boolean past) {
        long count = (past ? pastShare : full).occurred();
        if (count > 0 && past) {
            log.warn("Refused {} request bod{} (since the last such line): the bodies kept in {} are at {} ({} bytes), "
                    + "and the client's would pass its fair share of it, other clients' waiting (one client, or one "
                    + "address behind an untrusted proxy, sending many large bodies at once?)", count,
                    count == 1 ? "y" : "ies", directory, MAX_SIZE, maxBytes);
        } else if (count > 0) {
            log.warn("Refused {} request bod{} (since the last such line): the bodies kept in {} are at {} "
                    + "({} bytes), and none being read was slower; raise it if uploads this large at once are "
                    + "expected", count, count == 1 ? "y" : "ies", directory, MAX_SIZE, maxBytes);
        }
    }

    /**
     * Counts {@code length} more bytes kept, unless that passes {@link #RESPONSE_MAX_SIZE}: for a part of a response,
     * whose worker then waits for its client instead (said at most once per interval). Returns whether they were
     * counted.
     */
    boolean tryReserve(long length) {
        if (count(length)) {
            return true;
        }
        long count = full.occurred();
        if (count > 0) {
            log.warn("{} time{} (since the last such line) a part of a response could not be kept on disk for a client "
                    + "that reads slower than its worker sends, as the responses kept in {} are at {} ({} bytes): "
                    + "their workers wait for their clients", count, count == 1 ? "" : "s", directory,
                    RESPONSE_MAX_SIZE, maxBytes);
        }
        return false;
    }

    /** Adds {@code length} to the bytes kept, unless that passes the bound; returns whether it did. */
    private boolean count(long length) {
        long now;
        do {
            now = bytes.get();
            if (maxBytes > 0 && now + length > maxBytes) {
                return false;
            }
        } while (!bytes.compareAndSet(now, now + length));
        return true;
    }

    /** Gives back {@code length} bytes counted by {@link #reserve} or {@link #tryReserve}. */
    void release(long length) {
        bytes.addAndGet(-length);
    }

    /**
     * Bodies chosen to make room at the bound ({@link #makeRoom}) since the start that were at {@code stage} then
     * (one spared afterwards counts too: rare, and it was chosen).
     */
    long roomMade(Stage stage) {
        return roomMade.get(stage).get();
    }

    /** Bytes kept now. */
    long bytes() {
        return bytes.get();
    }

    /**
     * The spool in {@code configured}, or in {@code java.io.tmpdir} when it is null or blank.
     *
     * @throws InvalidSetting when the directory does not exist, is not one, or the master cannot create files in it
     */
    static BodySpool in(String configured, long maxBytes) {
        return in(configured, maxBytes, System::nanoTime);
    }

    /** As {@link #in(String, long)}, on the clock {@code nanoTime} (a test's). */
    static BodySpool in(String configured, long maxBytes, LongSupplier nanoTime) {
        return new BodySpool("request body", "request bodies", directory(configured, PROPERTY, "request bodies larger than "
                + "fleet.proxy.retry.buffer-limit are kept there until a worker takes them"), maxBytes, 0, nanoTime);
    }

    /**
     * The responses' spool in {@code configured}, or in {@code java.io.tmpdir} when it is null or blank: what a worker
     * sends faster than its client reads, so that the worker is free when it has sent it (nginx's proxy buffering);
     * {@code maxFileBytes} bounds each file, as nginx's {@code proxy_max_temp_file_size} (0: only the total does).
     *
     * @throws InvalidSetting as {@link #in}, naming {@link #RESPONSE_PROPERTY}
     */
    static BodySpool forResponses(String configured, long maxBytes, long maxFileBytes) {
        return new BodySpool("response", "responses", directory(configured, RESPONSE_PROPERTY, "the parts of responses that "
                + "clients read slower than workers send them are kept there"), maxBytes, maxFileBytes, System::nanoTime);
    }

    /** The most bytes one file of this spool keeps at once ({@link #RESPONSE_FILE_MAX_SIZE}); 0: no limit of its own. */
    long maxFileBytes() {
        return maxFileBytes;
    }

    private static Path directory(String configured, String property, String use) {
        boolean set = configured != null && !configured.isBlank();
        Path directory = Path.of(set ? configured : System.getProperty("java.io.tmpdir")).toAbsolutePath();
        String problem = !Files.exists(directory) ? "does not exist"
                : !Files.isDirectory(directory) ? "is not a directory"
                : !Files.isWritable(directory) ? "is not writable by the master's user" : null;
        if (problem != null) {
            throw new InvalidSetting(property, (set ? property + " names " : property + " is not set, and java.io.tmpdir ")
                    + directory + ", which " + problem + ": " + use);
        }
        return directory;
    }

    Path directory() {
        return directory;
    }

    /**
     * Logs that a body could not be written to ({@code writing}) or read back from its file, at most once per
     * {@link OccasionalWarning#INTERVAL_NANOS} with how many bodies failed since the last line. Thread-safe.
     */
    void failed(boolean writing, IOException cause) {
        long count = failures.occurred();
        if (count > 0) {
            log.warn("Could not {} {} {} {} {} (since the last such line): {}", writing ? "keep" : "read back",
                    count, count == 1 ? one : many, writing ? "in" : "from", directory, FileProblems.reason(cause));
        }
    }

    /** A new empty file, open for reading and writing, already unlinked: it is gone once the channel is closed. */
    FileChannel open() throws IOException {
        Path file = Files.createTempFile(directory, "shepherd-body-", null);
        try {
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            Files.delete(file);
            return channel;
        } catch (IOException | RuntimeException ex) {
            Files.deleteIfExists(file);
            throw ex;
        }
    }
}
