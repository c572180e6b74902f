package dev.shepherd.worker;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Whether a process carries Node.js's inspector, which opens on {@code SIGUSR1} on {@code 127.0.0.1:9229} with no
 * login: by the inspector's own message, {@code "Debugger listening on"}, in the program the process runs
 * ({@code /proc/PID/exe}) or in a {@code libnode} library it has mapped (Debian's {@code node} is a small program over
 * {@code libnode.so}; read through {@code /proc/PID/map_files}, the mapping itself). So a copy of {@code node} under another name, a single executable application (Node's SEA,
 * {@code pkg}) and Electron are known by what they are, not by their name (an attacking helper renamed {@code node}
 * and opened the inspector as root with {@code shepherd signal USR1}); a Node built without the inspector is not one.
 * A file is read once, up to {@value #MAX_BYTES} bytes, then known by its device, inode, size, mtime and ctime (the newest
 * {@value #KEPT}). Thread-safe.
 */
public final class NodeInspectors {

    static final long MAX_BYTES = 512L << 20;
    static final int KEPT = 64;
    private static final byte[] MARK = "Debugger listening on".getBytes(StandardCharsets.US_ASCII);

    private final Map<Object, Boolean> known = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Object, Boolean> eldest) {
            return size() > KEPT;
        }
    };

    /** Whether process {@code pid} can open Node's inspector on USR1; false when nothing about it can be read. */
    public boolean opensOnUsr1(long pid) {
        Path process = Path.of("/proc", Long.toString(pid));
        for (Path file : files(process)) {
            if (carriesMark(file)) {
                return true;
            }
        }
        return false;
    }

    /** The process's program, and the {@code libnode} libraries among its mapped files. */
    private static Set<Path> files(Path process) {
        Set<Path> files = new LinkedHashSet<>();
        files.add(process.resolve("exe"));
        try {
            for (String line : Files.readAllLines(process.resolve("maps"), StandardCharsets.ISO_8859_1)) {
                int space = line.indexOf(' ');
                if (space > 0 && line.indexOf('/') >= 0 && line.contains("libnode")) {
                    // The mapping itself (map_files/START-END), not its path: a worker could put a FIFO at the path
                    // of a file it had mapped and removed, and the open would wait for ever; and in a container the
                    // path is not the master's.
                    files.add(process.resolve("map_files").resolve(line.substring(0, space)));
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            // Gone, or not Linux: the program alone.
        }
        return files;
    }

    /** Whether {@code file} holds the inspector's message; false when it cannot be read. */
    boolean carriesMark(Path file) {
        Object identity;
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            if (!attributes.isRegularFile()) {
                return false;
            }
            // ctime too: a file rewritten in place with its size and mtime put back still changed its ctime.
            identity = List.of(String.valueOf(attributes.fileKey()), attributes.size(),
                    attributes.lastModifiedTime().toMillis(), String.valueOf(Files.getAttribute(file, "unix:ctime")));
        } catch (IOException | RuntimeException unreadable) {
            return false;
        }
        synchronized (known) {
            Boolean answer = known.get(identity);
            if (answer != null) {
                return answer;
            }
        }
        boolean answer = search(file);
        synchronized (known) {
            known.put(identity, answer);
        }
        return answer;
    }

    /** Reads {@code file} in blocks, each searched with the last bytes of the one before it (a mark across two). */
    static boolean search(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            long read = 0;
            int n;
            while (read < MAX_BYTES && (n = channel.read(buffer)) > 0) {
                read += n;
                buffer.flip();
                if (indexOf(buffer.array(), buffer.limit()) >= 0) {
                    return true;
                }
                int keep = Math.min(MARK.length - 1, buffer.limit());
                System.arraycopy(buffer.array(), buffer.limit() - keep, buffer.array(), 0, keep);
                buffer.clear().position(keep);
            }
            return false;
        } catch (IOException | RuntimeException unreadable) {
            return false;
        }
    }

    private static int indexOf(byte[] bytes, int length) {
        byte first = MARK[0];
        outer:
        for (int i = 0; i <= length - MARK.length; i++) {
            if (bytes[i] != first) {
                continue;
            }
            for (int j = 1; j < MARK.length; j++) {
                if (bytes[i + j] != MARK[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
