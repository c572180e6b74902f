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
 * dropped from the file (the log buffer keeps it), with one warning until a write succeeds again. A file removed or
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
    private FileChannel channel;
    private long size;
    private boolean failing;
    /** The identity of the file open ({@link #identity}), to tell when the path names another one. */
    private Object opened;
    private long lookedAt;

    LogFile(Path path, long maxSize, int maxFiles) {
        this(path, maxSize, maxFiles, System::nanoTime);
    }

    /** With the monotonic clock that says when to look for the file again. */
    LogFile(Path path, long maxSize, int maxFiles, LongSupplier nanoTime) {
        if (maxSize < 1 || maxFiles < 1) {
            throw new IllegalArgumentException("a log file holds at least one byte, and is one file at least");
        }
        this.path = path;
        this.maxSize = maxSize;
        this.maxFiles = maxFiles;
        this.nanoTime = nanoTime;
    }

    /** Appends {@code text} and a newline, rotating first when the file would pass its size. */
    synchronized void write(String text) {
        byte[] line = (text + "\n").getBytes(StandardCharsets.UTF_8);
        try {
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
            if (size > 0 && size + line.length > maxSize) {
                rotate();
            }
            ByteBuffer buffer = ByteBuffer.wrap(line);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            size += line.length;
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

    /**
     * The file opened for writing, created if need be, never through a symbolic link ({@code O_NOFOLLOW}) and only
     * when this process's user owns it: in a directory other users can write to, a link planted at the file's name
     * made a master running as root append worker output to any file, and a file planted there would have handed
     * them the output.
     */
    private FileChannel ownFile(StandardOpenOption mode) throws IOException {
        FileChannel opened = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode,
                LinkOption.NOFOLLOW_LINKS);
        try {
            Object owner = OWN_UID == null ? null : Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
            if (owner != null && !owner.equals(OWN_UID)) {
                throw new IOException(path + " belongs to uid " + owner + ", not to the master's user");
            }
        } catch (UnsupportedOperationException | IllegalArgumentException noUnixAttributes) {
            // Not a POSIX file system: the link check above is what there is.
        } catch (IOException refused) {
            opened.close();
            throw refused;
        }
        return opened;
    }

    /** This process's user id, as files it creates are owned; null where the file system has no such attribute. */
    private static final Object OWN_UID = ownUid();

    private static Object ownUid() {
        try {
            return Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException none) {
            return null;
        }
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
