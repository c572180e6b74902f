package dev.shepherd.worker;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Opens the master's own files in {@code fleet.worker.log-directory} (the output files, the directory's lock), never
 * through a symbolic link ({@code O_NOFOLLOW}) and only when this process's user owns the file: in a directory other
 * users can write to, a link planted at a file's name made a master running as root append worker output to any file,
 * and a file planted there would have handed them the output. Thread-safe.
 */
final class OwnFiles {

    /** How a channel is opened: {@link FileChannel#open}, or a test's fake that fails as a full disk does. */
    @FunctionalInterface
    interface Opener {

        Opener CHANNELS = FileChannel::open;

        FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;
    }

    /** This process's user id, as files it creates are owned; null where the file system has no such attribute. */
    private static final Object OWN_UID = ownUid();

    private OwnFiles() {
    }

    /**
     * The file at {@code path} opened by {@code opener} with {@code options}, created if need be, not through a link.
     *
     * @throws IOException when it cannot be opened (a link at its name: {@code ELOOP}), or another user owns it
     */
    static FileChannel open(Path path, Opener opener, OpenOption... options) throws IOException {
        Set<OpenOption> all = new HashSet<>(List.of(options));
        all.add(StandardOpenOption.CREATE);
        all.add(LinkOption.NOFOLLOW_LINKS);
        // Opening a FIFO blocks until someone reads it, and Java has no O_NONBLOCK: what is there is looked at first
        // (a re-attacking helper hung a master's log writes, and then its supervisor, with one). The directory is the
        // master's own (FleetProperties), so no other user can swap it in between.
        try {
            BasicFileAttributes there = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (!there.isRegularFile()) {
                throw new IOException(path + " is not a regular file");
            }
        } catch (NoSuchFileException absent) {
            // Created below.
        }
        FileChannel opened = opener.open(path, all);
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

    private static Object ownUid() {
        try {
            return Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException none) {
            return null;
        }
    }
}
