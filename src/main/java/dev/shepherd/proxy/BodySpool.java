package dev.shepherd.proxy;

import dev.shepherd.FileProblems;
import dev.shepherd.InvalidSetting;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Where the proxy keeps the part of a request body that it reads before picking a worker and that does not fit
 * in memory ({@code fleet.proxy.retry.buffer-limit}): a file of its own per body, in
 * {@code fleet.proxy.client-body-temp-path} (nginx's {@code client_body_temp_path}), readable by the master's user
 * only and unlinked as soon as it is open, as nginx does, so that nothing is left behind when the request ends or the
 * master dies. Files are opened on the event loops: a few system calls per body over the limit, no more.
 */
@Slf4j
final class BodySpool {

    static final String PROPERTY = "fleet.proxy.client-body-temp-path";

    private final Path directory;
    /** A full disk fails every upload past the limit: one line per interval, not one per request. */
    private final OccasionalWarning failures = new OccasionalWarning(System::nanoTime);

    private BodySpool(Path directory) {
        this.directory = directory;
    }

    /**
     * The spool in {@code configured}, or in {@code java.io.tmpdir} when it is null or blank.
     *
     * @throws InvalidSetting when the directory does not exist, is not one, or the master cannot create files in it
     */
    static BodySpool in(String configured) {
        boolean set = configured != null && !configured.isBlank();
        Path directory = Path.of(set ? configured : System.getProperty("java.io.tmpdir")).toAbsolutePath();
        String problem = !Files.exists(directory) ? "does not exist"
                : !Files.isDirectory(directory) ? "is not a directory"
                : !Files.isWritable(directory) ? "is not writable by the master's user" : null;
        if (problem != null) {
            throw new InvalidSetting(PROPERTY, (set ? PROPERTY + " names " : PROPERTY + " is not set, and java.io.tmpdir ")
                    + directory + ", which " + problem + ": request bodies larger than fleet.proxy.retry.buffer-limit "
                    + "are kept there until a worker takes them");
        }
        return new BodySpool(directory);
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
            log.warn("Could not {} {} request bod{} {} {} (since the last such line): {}",
                    writing ? "keep" : "read back", count, count == 1 ? "y" : "ies", writing ? "in" : "from",
                    directory, FileProblems.reason(cause));
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
