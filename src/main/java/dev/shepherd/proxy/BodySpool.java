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
 * limit, in a {@code /tmp} that is memory on many systems (found by an attacking helper). Each client has a max-min
 * fair share of the bound ({@link SpoolShares}), counted as {@code fleet.proxy.max-connections-per-client} counts
 * clients ({@link ClientConnectionLimit#client}); at the bound, a body with bytes in the spool gives them up to make
 * room for another ({@link #makeRoom}, {@link SpoolRoom}: a copy kept for a retry, a queued body of a client over its
 * share, or the body being read that came slowest lately). Thread-safe: the event loops share it.
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
    private final LongSupplier nanoTime;
    /** Each client's share of the bound. */
    private final SpoolShares shares;
    /** The bodies with bytes here, and the room made among them at the bound. */
    private final SpoolRoom room;
    /** A full disk fails every upload past the limit: one line per interval, not one per request. */
    private final OccasionalWarning failures;
    private final OccasionalWarning full;

    private BodySpool(String one, String many, Path directory, long maxBytes, long maxFileBytes, LongSupplier nanoTime) {
        this.one = one;
        this.many = many;
        this.directory = directory;
        this.maxBytes = maxBytes;
        this.maxFileBytes = maxFileBytes;
        this.nanoTime = nanoTime;
        this.shares = new SpoolShares(maxBytes);
        this.room = new SpoolRoom(directory, maxBytes, shares, nanoTime);
        this.failures = new OccasionalWarning(nanoTime);
        this.full = new OccasionalWarning(nanoTime);
    }

    /**
     * Lists a body of {@code client} ({@link ClientConnectionLimit#client}, or any key of its own) with bytes in a file
     * of this spool, that has {@code bytes} bytes so far and is being read unless {@code whole}, from now until
     * {@link #done}: {@code refuse} runs on {@code loop} if {@link #makeRoom} chooses it, and must answer its request
     * (503) and give its bytes back, or, when the body is no longer refusable ({@link #spared}), say so.
     */
    SpoolHolder holding(EventExecutor loop, Runnable refuse, long bytes, Object client, boolean whole) {
        return room.holding(loop, refuse, bytes, client, whole);
    }

    /** {@code holder}'s body is whole: no longer refusable for its rate. */
    void whole(SpoolHolder holder) {
        holder.whole();
    }

    /**
     * {@code holder}'s whole body waits in the queue for its first worker ({@code queued}), refusable for another
     * client's, or no longer does.
     */
    void queued(SpoolHolder holder, boolean queued) {
        holder.queued(queued, nanoTime);
    }

    /**
     * {@code holder}'s whole body has been written whole to its worker ({@code sent}): its file is a copy for a retry,
     * which {@link #makeRoom} may have it give up; or it is being written (again), or waits between attempts.
     */
    void sent(SpoolHolder holder, boolean sent) {
        holder.sent(sent);
    }

    /** As {@link SpoolRoom#spared}: chosen, but no longer refusable when its loop came to it. */
    void spared(SpoolHolder holder) {
        room.spared(holder);
    }

    /** As {@link SpoolRoom#done}: {@code holder}'s body has gone, its bytes given back first. */
    void done(SpoolHolder holder) {
        room.done(holder);
    }

    /** Now, on the clock of this spool's bodies ({@link SpoolHolder#read}). */
    long now() {
        return nanoTime.getAsLong();
    }

    /**
     * At the bound, for a part of {@code length} bytes of a body of {@code client} that found no room ({@code asking},
     * listed, or null when it has no file yet): when bodies refused for room still hold at least that much, the room
     * is coming, and nothing more is refused, unless {@code client} would hold more than its fair share with it
     * ({@link #pastShare}): then it counts on no room made for others, and may only have a copy given up or a slow body
     * of a client holding as much as it refused ({@link RoomChoice}). Else chooses a body to refuse and has its loop
     * refuse it, which gives its bytes back soon after. Returns whether room is coming; false when there is none coming
     * and none to refuse, or when the body to refuse is {@code asking} itself: then it is the one refused. This is how
     * {@link ReclaimableConnections} makes room for a connection.
     */
    boolean makeRoom(Object client, SpoolHolder asking, long length) {
        return room.makeRoom(client, asking, length);
    }

    /** As {@link SpoolShares#pastShare}: whether {@code client} would pass its fair share with {@code length} more. */
    boolean pastShare(Object client, long length) {
        return shares.pastShare(client, length);
    }

    /**
     * A body of {@code client} starts ({@code waiting}) or stops waiting for room ({@link #makeRoom}) for a part of
     * {@code asked} bytes (the same both times): while any does, a client with none waiting that would pass its fair
     * share gets no room ({@link #reserve}), so the room made goes to the bodies waiting and not to the client that
     * keeps sending (found by a re-attacking helper: the room made for another client's upload was taken by the next
     * body of the client whose bodies were refused for it, 197 times for 4 uploads).
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
    boolean refusableSoon(SpoolHolder asking) {
        return room.refusableSoon(asking);
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
        room.refused(past);
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
    long roomMade(SpoolHolder.Stage stage) {
        return room.roomMade(stage);
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
