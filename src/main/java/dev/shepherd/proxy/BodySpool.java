package dev.shepherd.proxy;

import dev.shepherd.FileProblems;
import dev.shepherd.InvalidSetting;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;

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
 * limit, in a {@code /tmp} that is memory on many systems (found by an attacking helper). Thread-safe.
 */
@Slf4j
final class BodySpool {

    static final String PROPERTY = "fleet.proxy.client-body-temp-path";

    /** The bound's property. */
    static final String MAX_SIZE = "fleet.proxy.client-body-temp-max-size";

    /** The responses' spool's properties. */
    static final String RESPONSE_PROPERTY = "fleet.proxy.response-temp-path";
    static final String RESPONSE_MAX_SIZE = "fleet.proxy.response-temp-max-size";

    /** What a file holds, as the log says it: "request body", "response"; and two of them. */
    private final String one;
    private final String many;
    private final Path directory;
    /** The most bytes kept at once; 0: no limit. */
    private final long maxBytes;
    private final AtomicLong bytes = new AtomicLong();
    /** A full disk fails every upload past the limit: one line per interval, not one per request. */
    private final OccasionalWarning failures = new OccasionalWarning(System::nanoTime);
    private final OccasionalWarning full = new OccasionalWarning(System::nanoTime);

    private BodySpool(String one, String many, Path directory, long maxBytes) {
        this.one = one;
        this.many = many;
        this.directory = directory;
        this.maxBytes = maxBytes;
    }

    /** The spool is at {@link #MAX_SIZE}: the body is refused, not kept. */
    static final class Full extends IOException {
        Full(long maxBytes) {
            super("request bodies kept on disk are at " + MAX_SIZE + " (" + maxBytes + " bytes)");
        }
    }

    /**
     * Counts {@code length} more bytes kept, unless that passes {@link #MAX_SIZE}.
     *
     * @throws Full when it would: nothing is counted, and a warning says so at most once per interval
     */
    void reserve(long length) throws Full {
        if (!count(length)) {
            long count = full.occurred();
            if (count > 0) {
                log.warn("Refused {} request bod{} (since the last such line): the bodies kept in {} are at {} "
                        + "({} bytes); raise it if uploads this large at once are expected", count,
                        count == 1 ? "y" : "ies", directory, MAX_SIZE, maxBytes);
            }
            throw new Full(maxBytes);
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
        return new BodySpool("request body", "request bodies", directory(configured, PROPERTY, "request bodies larger than "
                + "fleet.proxy.retry.buffer-limit are kept there until a worker takes them"), maxBytes);
    }

    /**
     * The responses' spool in {@code configured}, or in {@code java.io.tmpdir} when it is null or blank: what a worker
     * sends faster than its client reads, so that the worker is free when it has sent it (nginx's proxy buffering).
     *
     * @throws InvalidSetting as {@link #in}, naming {@link #RESPONSE_PROPERTY}
     */
    static BodySpool forResponses(String configured, long maxBytes) {
        return new BodySpool("response", "responses", directory(configured, RESPONSE_PROPERTY, "the parts of responses that "
                + "clients read slower than workers send them are kept there"), maxBytes);
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
