package dev.shepherd.worker;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * One file of a worker slot's output, rotated by size as Docker's json-file driver rotates ({@code max-size},
 * {@code max-file}): once the next line would take it past {@code maxSize}, {@code name.log} becomes
 * {@code name.log.1}, the older ones move up one, and the oldest, {@code name.log.<maxFiles - 1>}, is deleted; with
 * {@code maxFiles} 1 the file starts again empty. So it takes at most {@code maxFiles} × {@code maxSize} on disk, plus
 * one line (a line longer than {@code maxSize} goes whole into an empty file). A line that cannot be written is
 * dropped from the file (the log buffer keeps it), with one warning until a write succeeds again: what of it reached
 * the file (a full disk takes a line's first bytes) is truncated away, so that the file holds whole lines only and the
 * next line is not glued to a part of this one; where even that fails, the next line written to that file begins
 * with a newline, ending the part. A file removed or
 * moved away (an operator's {@code rm}, logrotate without {@code copytruncate}) is noticed within a second and
 * started again, where the lines would have gone to the removed file for good. Thread-safe: the pumps of the
 * processes that hold the slot in turn may write at once.
 */
@Slf4j
final class LogFile {

    /** How often the file is looked for at its path, while open. */
    private static final long LOOK_NANOS = 1_000_000_000L;

    private final Path path;
    private final long maxSize;
    private final int maxFiles;
    private final LongSupplier nanoTime;
    private final OwnFiles.Opener opener;
    private FileChannel channel;
    /** The bytes of whole lines in the open file. */
    private long size;
    private boolean failing;
    /** The identity of the file open ({@link #identity}), to tell when the path names another one. */
    private Object opened;
    /** The identity of a file left ending in part of a line (a failed write whose rollback failed too); else null. */
    private Object unended;
    private long lookedAt;
    /** Set by {@link #reopen()} on any thread, taken by the next write. */
    private volatile boolean reopenAsked;

    LogFile(Path path, long maxSize, int maxFiles) {
        this(path, maxSize, maxFiles, System::nanoTime);
    }

    /** With the monotonic clock that says when to look for the file again. */
    LogFile(Path path, long maxSize, int maxFiles, LongSupplier nanoTime) {
        this(path, maxSize, maxFiles, nanoTime, OwnFiles.Opener.CHANNELS);
    }

    /** With what opens the file's channels: a test's fake disk. */
    LogFile(Path path, long maxSize, int maxFiles, LongSupplier nanoTime, OwnFiles.Opener opener) {
        if (maxSize < 1 || maxFiles < 1) {
            throw new IllegalArgumentException("a log file holds at least one byte, and is one file at least");
        }
        this.path = path;
        this.maxSize = maxSize;
        this.maxFiles = maxFiles;
        this.nanoTime = nanoTime;
        this.opener = opener;
    }

    /** Where the file is; its rotated files are this path with {@code .1}, {@code .2}, ... appended. */
    Path path() {
        return path;
    }

    /** Appends {@code text} and a newline, rotating first when the file would pass its size. */
    synchronized void write(String text) {
        byte[] line = (text + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            openOrReopen();
            if (size > 0 && size + line.length > maxSize) {
                rotate();
            }
            append(line);
            if (failing) {
                failing = false;
                log.info("Worker output goes to {} again", path);
            }
        } catch (IOException ex) {
            close();
            if (!failing) {
                failing = true;
                log.warn("Cannot write worker output to {} (fleet.worker.log-directory): {}; its lines go to the log "
                        + "buffer only until a write succeeds", path, ex.toString());
            }
        }
    }

    /** Opens the file when it is not, or when the path has named another file for a second. */
    private void openOrReopen() throws IOException {
        if (reopenAsked) {
            reopenAsked = false;
            close();
        }
        long now = nanoTime.getAsLong();
        if (channel != null && now - lookedAt >= LOOK_NANOS) {
            lookedAt = now;
            if (!Objects.equals(identity(), opened)) {
                // Removed, or renamed and replaced (logrotate's default: rename, then create): the path names
                // another file now, or none, and the open one would take the lines for good.
                close();
            }
        }
        if (channel == null) {
            open();
            lookedAt = now;
        }
    }

    /**
     * Writes {@code line} whole, or rolls the file back to its whole lines: a write that fails after some bytes (a
     * disk that fills up mid-line) left them there, and the next line went on from them, glued to that part.
     * Truncating drops the part, as the line is dropped from the file anyway (the log buffer has it); ending it with
     * a newline instead would leave a cut line that reads as a whole one.
     */
    private void append(byte[] line) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(line);
        if (unended != null && unended.equals(opened)) {
            buffer = ByteBuffer.allocate(line.length + 1).put((byte) '\n').put(line).flip();
        }
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        } catch (IOException ex) {
            if (buffer.position() > 0) {
                rollBack(buffer.get(buffer.position() - 1) == '\n');
            }
            throw ex;
        }
        size += buffer.limit();
        unended = null;
    }

    /**
     * Truncates the file to its whole lines; when it cannot, and the last byte written ({@code endsLine}: a newline)
     * left a part of a line, the next line to the file begins with a newline.
     */
    private void rollBack(boolean endsLine) {
        try {
            channel.truncate(size);
        } catch (IOException | RuntimeException ex) {
            unended = endsLine ? null : opened;
        }
    }

    private void open() throws IOException {
        channel = ownFile(StandardOpenOption.APPEND);
        size = channel.size();
        opened = identity();
    }

    /** The file the path names now (its device and inode), not following a link; null when there is none. */
    private Object identity() {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException | RuntimeException none) {
            return null;
        }
    }

    /** The file opened for appending, created if need be, as {@link OwnFiles} opens the master's own. */
    private FileChannel ownFile(StandardOpenOption mode) throws IOException {
        return OwnFiles.open(path, opener, StandardOpenOption.WRITE, mode);
    }

    private void rotate() throws IOException {
        close();
        if (maxFiles == 1) {
            channel = ownFile(StandardOpenOption.TRUNCATE_EXISTING);
            opened = identity();
            size = 0;
            return;
        }
        Files.deleteIfExists(rotated(maxFiles - 1));
        for (int n = maxFiles - 2; n >= 1; n--) {
            try {
                Files.move(rotated(n), rotated(n + 1), StandardCopyOption.REPLACE_EXISTING);
            } catch (NoSuchFileException ex) {
                // Not rotated that often yet.
            }
        }
        Files.move(path, rotated(1), StandardCopyOption.REPLACE_EXISTING);
        open();
    }

    /**
     * Has the next line close the file and open the path again: what the master's {@code SIGUSR1} asks, as
     * nginx's and gunicorn's (a logrotate {@code postrotate} sending it need not wait for the second within which a
     * write notices a renamed file).
     */
    void reopen() {
        // Not by taking the lock: a writer stuck in a write (a full pipe of a network file system) held it, and the
        // SIGUSR1 that waited for it held WorkerLogs' (a re-attacking helper's hang). The next write closes it.
        reopenAsked = true;
    }

    /** The file rotated {@code n} times: {@code name.log.n}. */
    Path rotated(int n) {
        return path.resolveSibling(path.getFileName() + "." + n);
    }

    private void close() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ex) {
                // Closed all the same; the next write opens it again.
            }
            channel = null;
        }
    }
}
