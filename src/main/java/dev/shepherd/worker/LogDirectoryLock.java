package dev.shepherd.worker;

import org.springframework.boot.diagnostics.FailureAnalyzedException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * One master per {@code fleet.worker.log-directory}: a lock on {@value #NAME} in it, held for the master's life, with
 * the holder's pid in it, as {@code fleet.state-file} has its own. Two masters on one directory both appended to the
 * same {@code worker-<index>-out.log} files, their lines interleaved and each rotating the other's files away, without
 * a word. An advisory {@code fcntl} lock, which the kernel drops with the process however it ends; the file stays,
 * empty of meaning, once released. Opened as the output files are ({@link OwnFiles}: no link followed, the master's
 * user's only), and named so that a logrotate pattern for {@code *.log} leaves it alone.
 */
public final class LogDirectoryLock implements AutoCloseable {

    /** The lock file's name in the directory. */
    public static final String NAME = "shepherd.lock";
    static final String PROPERTY = "fleet.worker.log-directory";
    /** The most bytes of a holder's pid read: a file of another content is not read whole. */
    private static final int PID_BYTES = 20;

    /**
     * The directories this JVM holds (their real paths): on Linux, closing any channel of a file drops every
     * {@code fcntl} lock the process holds on it, so a second master in one JVM must not even open the file.
     */
    private static final Set<Path> HELD = new HashSet<>();

    private final Path directory;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean released;

    private LogDirectoryLock(Path directory, FileChannel channel, FileLock lock) {
        this.directory = directory;
        this.channel = channel;
        this.lock = lock;
    }

    /** {@code fleet.worker.log-directory} cannot be used by this master: startup stops, saying why and what to do. */
    public static final class Refused extends FailureAnalyzedException {

        Refused(String description, String action, Throwable cause) {
            super(description, action, cause);
        }
    }

    /**
     * Takes the lock of {@code directory}, an existing directory (as the property's validation made sure), or returns
     * null when it is null (no log files).
     *
     * @throws Refused when another master holds it (named by its pid when its file says one), or the lock file cannot
     *                 be opened or locked (a link at its name, a file of another user, a file system without locks)
     */
    public static LogDirectoryLock acquire(Path directory) {
        if (directory == null) {
            return null;
        }
        Path real;
        try {
            real = directory.toRealPath();
        } catch (IOException ex) {
            throw cannotLock(directory, ex);
        }
        synchronized (HELD) {
            if (HELD.contains(real)) {
                throw inUse(directory, Long.toString(ProcessHandle.current().pid()));
            }
            LogDirectoryLock taken = take(directory, real);
            HELD.add(real);
            return taken;
        }
    }

    private static LogDirectoryLock take(Path directory, Path real) {
        FileChannel channel;
        try {
            channel = OwnFiles.open(real.resolve(NAME), OwnFiles.Opener.CHANNELS, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (IOException ex) {
            throw cannotLock(directory, ex);
        }
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException ex) {
                lock = null; // This JVM holds it through a path HELD does not know (a bind mount): another master.
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw inUse(directory, holder);
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return new LogDirectoryLock(real, channel, lock);
        } catch (IOException ex) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing releases the lock as well; nothing else to do.
            }
            throw cannotLock(directory, ex);
        }
    }

    /** The pid the holder wrote, read through the channel already open; null when the file says none. */
    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(PID_BYTES);
        while (bytes.hasRemaining() && channel.read(bytes, bytes.position()) > 0) {
            // Until the file ends or the buffer is full.
        }
        String text = new String(bytes.array(), 0, bytes.position(), StandardCharsets.US_ASCII).trim();
        return text.matches("\\d{1,10}") ? text : null;
    }

    private static Refused inUse(Path directory, String pid) {
        return new Refused(PROPERTY + " " + directory + " is in use by another master" + (pid == null ? ""
                : " (pid " + pid + ")") + ": both would write the same worker-<index>-out.log and -err.log files",
                "Stop that master first, or give this one a " + PROPERTY + " of its own.", null);
    }

    private static Refused cannotLock(Path directory, IOException ex) {
        return new Refused(PROPERTY + " " + directory + " cannot be locked: " + directory.resolve(NAME)
                + " cannot be used (" + ex.getMessage() + ")", "Remove what is at " + directory.resolve(NAME)
                + " (a link, or a file of another user), or point " + PROPERTY + " to a directory on a local file "
                + "system that the master's user owns.", ex);
    }

    /** Releases the lock (the file stays: removing it could let two masters lock two different files). */
    @Override
    public void close() {
        synchronized (HELD) {
            if (released) {
                return;
            }
            released = true;
            try {
                lock.release();
                channel.close();
            } catch (IOException ex) {
                // The kernel drops the lock with the process anyway.
            } finally {
                HELD.remove(directory);
            }
        }
    }
}
