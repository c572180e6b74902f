package dev.shepherd.fleet;

import dev.shepherd.FileProblems;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;

/**
 * The file named by {@code fleet.state-file}: read once at start, replaced atomically on every change (a temporary
 * file in the same directory, written, fsynced and renamed over it, then the directory fsynced), so that a crash
 * leaves the old state or the new one, never half of one. The file is created with mode 0600: it holds the workers'
 * environment, secrets included. A symbolic link stays one: the file it points to is replaced. Not thread-safe for
 * writes: one writer at a time ({@link StateKeeper}).
 */
final class StateFile {

    static final String PROPERTY = "fleet.state-file";
    /** The largest file read: a state is a few KB, so anything bigger is not one, and is not read into memory. */
    static final int MAX_BYTES = 1024 * 1024;
    private static final String FIX = "Fix or delete the file (without it the master starts from the configuration), "
            + "or point " + PROPERTY + " to another file.";

    private final Path file;

    StateFile(Path file) {
        this.file = file.toAbsolutePath().normalize();
    }

    Path path() {
        return file;
    }

    /**
     * The saved state, or empty when the file does not exist yet.
     *
     * @throws StateFileException naming the file and the property when its directory is missing, or it cannot be
     *                            read, is larger than {@link #MAX_BYTES}, or is not a state file; it is left as it is
     */
    Optional<SavedState> read(int maxWorkers) {
        if (Files.isDirectory(file)) {
            throw new StateFileException(PROPERTY + " " + file + " cannot be read: it is a directory", FIX);
        }
        Path directory = file.getParent();
        if (!Files.isDirectory(directory)) {
            throw new StateFileException(PROPERTY + " " + file + " is in " + directory + ", which "
                    + (Files.exists(directory) ? "is not a directory" : "does not exist"),
                    "Create the directory " + directory + ", or point " + PROPERTY + " to a file in an existing one.");
        }
        // notExists, not !exists: a file that may or may not be there (a directory the master may not search) is
        // read, and refused as unreadable, rather than taken for no state and overwritten later.
        if (Files.notExists(file)) {
            return Optional.empty();
        }
        byte[] json = bytes();
        try {
            return Optional.of(StateFormat.read(json, maxWorkers));
        } catch (StateFormat.Invalid ex) {
            throw new StateFileException(PROPERTY + " " + file + " is not a Shepherd state file (" + ex.getMessage()
                    + "): fix or delete it", FIX);
        }
    }

    private byte[] bytes() {
        byte[] json;
        try (InputStream in = Files.newInputStream(file)) {
            json = in.readNBytes(MAX_BYTES + 1);
        } catch (IOException ex) {
            throw new StateFileException(PROPERTY + " " + file + " cannot be read (" + FileProblems.reason(ex) + ")",
                    "Let the master's user read and write the file, or delete it, or point " + PROPERTY
                            + " to another file.", ex);
        }
        if (json.length > MAX_BYTES) {
            throw new StateFileException(PROPERTY + " " + file + " is not a Shepherd state file (it is larger than "
                    + MAX_BYTES / 1024 + " KiB, the most one may hold): fix or delete it", FIX);
        }
        return json;
    }

    /** Replaces the file with {@code state}, saved at {@code savedAt}; the old file stays whole when this fails. */
    void write(SavedState state, Instant savedAt) throws IOException {
        byte[] json = StateFormat.write(state, savedAt);
        // A rename over a symbolic link replaces the link: write where it points (a volume that outlives the
        // container, say), so that the link stays and what it points to is the state.
        Path target = Files.isSymbolicLink(file) ? file.toRealPath() : file;
        Path directory = target.getParent();
        Path temporary = Files.createTempFile(directory, "." + target.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(json);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
        // The rename itself is durable once the directory is.
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

}
