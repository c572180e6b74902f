package dev.shepherd.fleet;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One master per {@code fleet.state-file}: a lock on {@code <file>.lock} beside it, held for the master's life, with
 * the holder's pid in it (PM2 keeps one daemon per {@code PM2_HOME} the same way). Two masters on one file each wrote
 * their own state over the other's, and the last one won (found by a new user's attack: a Deployment with two
 * replicas on one volume, or a second master started by mistake). An advisory {@code fcntl} lock, which the kernel
 * drops with the process, however it ends; the file stays, empty of meaning, once it is released.
 */
final class StateLock implements AutoCloseable {

    private final FileChannel channel;
    private final FileLock lock;
    private boolean released;

    private StateLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** The lock file of {@code stateFile}: {@code state.json.lock} beside {@code state.json}. */
    static Path pathOf(Path stateFile) {
        return stateFile.resolveSibling(stateFile.getFileName() + ".lock");
    }

    /**
     * Takes the lock of {@code stateFile}, or null when it is null (no state file) or its directory is missing (which
     * {@link StateFile#read} refuses).
     *
     * @throws StateFileException when another master holds it (named by its pid), or the lock file cannot be written
     */
    static StateLock acquire(Path stateFile) {
        Path path = stateFile == null ? null : pathOf(stateFile.toAbsolutePath());
        if (path == null || !Files.isDirectory(path.getParent())) {
            // A directory that is not there is StateFile's to tell, in its own words.
            return null;
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException ex) {
            throw new StateFileException(StateFile.PROPERTY + " " + stateFile + " cannot be locked: " + path
                    + " cannot be opened (" + ex.getMessage() + ")", "Let the master's user create and write files in "
                    + "the state file's directory, or point " + StateFile.PROPERTY + " to another file.", ex);
        }
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException ex) {
                lock = null; // Held by this JVM already: another master in the same process.
            }
            if (lock == null) {
                String holder = new String(Files.readAllBytes(path), StandardCharsets.US_ASCII).trim();
                channel.close();
                throw new StateFileException(StateFile.PROPERTY + " " + stateFile + " is in use by another master"
                        + (holder.matches("\\d{1,10}") ? " (pid " + holder + ")" : ""), "Stop that master first, or "
                        + "give this one a " + StateFile.PROPERTY + " of its own: two masters on one file would each "
                        + "overwrite the other's state.");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            return new StateLock(channel, lock);
        } catch (IOException ex) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // Closing releases the lock as well; nothing else to do.
            }
            throw new StateFileException(StateFile.PROPERTY + " " + stateFile + " cannot be locked (" + ex.getMessage()
                    + ")", "Point " + StateFile.PROPERTY + " to a file on a local file system.", ex);
        }
    }

    /** Releases the lock (the file stays: removing it could let two masters lock two different files). */
    @Override
    public synchronized void close() {
        if (released) {
            return;
        }
        released = true;
        try {
            lock.release();
            channel.close();
        } catch (IOException ex) {
            // The kernel drops the lock with the process anyway.
        }
    }
}
