package dev.shepherd.worker;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Reads what the JDK does not tell about a process from Linux's /proc; empty answers where there is no /proc. */
public final class ProcFs {

    private static final Path PROC = Path.of("/proc");
    /** An environment larger than this is not searched further (Linux allows far less by default: a quarter of the stack limit). */
    private static final int MAX_ENVIRON_BYTES = 8 << 20;

    /** The ids that tie a process to others: its parent, its process group and its session. */
    record Stat(long pid, long ppid, long processGroup, long session) {
    }

    private ProcFs() {
    }

    static boolean available() {
        return Files.isDirectory(PROC.resolve("self"));
    }

    /**
     * The file name of the program process {@code pid} runs ({@code /proc/PID/exe}, what {@code exec} loaded: {@code node}
     * for {@code npm start}, {@code /usr/bin/env node} and a {@code #!/usr/bin/env node} script alike); empty when it
     * cannot be read.
     */
    public static Optional<String> program(long pid) {
        try {
            Path exe = Files.readSymbolicLink(PROC.resolve(Long.toString(pid)).resolve("exe"));
            Path name = exe.getFileName();
            return name == null ? Optional.empty() : Optional.of(name.toString().replace(" (deleted)", ""));
        } catch (IOException | RuntimeException unreadable) {
            return Optional.empty();
        }
    }

    /**
     * The process's resident memory, each page it shares divided among the processes that share it (PSS, from
     * {@code smaps_rollup}, Linux 4.14 and later), so that the members of one tree add up to what the tree holds: a
     * pre-forking worker (gunicorn's, Node's cluster) whose children share its pages copy-on-write was counted once
     * per child with RSS, and recycled for ever under a limit it did not pass (found by an attacking helper: 576 MB
     * counted for ~120 MB held). {@code VmRSS} where PSS cannot be read.
     */
    static Optional<Long> residentBytes(long pid) {
        Path dir = PROC.resolve(Long.toString(pid));
        Optional<Long> proportional = kilobytes(dir.resolve("smaps_rollup"), "Pss:");
        return proportional.isPresent() ? proportional : kilobytes(dir.resolve("status"), "VmRSS:");
    }

    /** The value of the line of {@code file} that starts with {@code key}, given in kB, in bytes. */
    private static Optional<Long> kilobytes(Path file, String key) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return Optional.of(Long.parseLong(line.substring(key.length()).replace("kB", "").trim()) * 1024);
                }
            }
            return Optional.empty();
        } catch (IOException | RuntimeException ex) {
            return Optional.empty();
        }
    }

    /** Every process there is now, as far as /proc lists it. */
    static List<Stat> processes() {
        List<Stat> all = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC, ProcFs::isPid)) {
            for (Path entry : entries) {
                stat(Long.parseLong(entry.getFileName().toString())).ifPresent(all::add);
            }
        } catch (IOException ex) {
            return all;
        }
        return all;
    }

    /** What the descriptor {@code fd} of the process {@code pid} is, as /proc/PID/fd names it ({@code pipe:[4242]}). */
    static Optional<String> descriptor(long pid, int fd) {
        try {
            return Optional.of(Files.readSymbolicLink(PROC.resolve(pid + "/fd/" + fd)).toString());
        } catch (IOException | RuntimeException ex) {
            return Optional.empty();
        }
    }

    /**
     * The processes, this one left out, that have {@code target} open (a pipe, as {@link #descriptor} names it),
     * among those whose descriptors this process may read (its user's).
     */
    static List<Long> holders(String target) {
        return holders(target, false);
    }

    /** {@link #holders(String)}, this process included when {@code self}. */
    static List<Long> holders(String target, boolean self) {
        long own = self ? -1 : ProcessHandle.current().pid();
        List<Long> holders = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC, ProcFs::isPid)) {
            for (Path entry : entries) {
                long pid = Long.parseLong(entry.getFileName().toString());
                if (pid != own && holds(entry.resolve("fd"), target)) {
                    holders.add(pid);
                }
            }
        } catch (IOException | RuntimeException ex) {
            return holders;
        }
        return holders;
    }

    /** The inodes of the sockets the process {@code pid} has open ({@code socket:[N]}); empty when unreadable. */
    static Set<Long> sockets(long pid) {
        return sockets(pid, Integer.MAX_VALUE);
    }

    /** {@link #sockets(long)} among its first {@code descriptors} descriptors (/proc lists them lowest first). */
    static Set<Long> sockets(long pid, int descriptors) {
        Set<Long> inodes = new HashSet<>();
        int seen = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(PROC.resolve(pid + "/fd"))) {
            for (Path fd : fds) {
                if (++seen > descriptors) {
                    break;
                }
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[") && target.endsWith("]")) {
                        inodes.add(Long.parseLong(target, 8, target.length() - 1, 10));
                    }
                } catch (IOException | NumberFormatException ex) {
                    // Closed meanwhile.
                }
            }
        } catch (IOException | RuntimeException ex) {
            // Gone, or another user's.
        }
        return inodes;
    }

    /**
     * The inodes of the TCP sockets of this network namespace listening on {@code port} where a connection to
     * 127.0.0.1 reaches them: 127.0.0.1, 0.0.0.0, {@code ::} or {@code ::ffff:127.0.0.1} (/proc/net/tcp and tcp6).
     */
    static Listeners listeners(int port) {
        Set<Long> inodes = new HashSet<>();
        Set<Long> ipv6Any = new HashSet<>();
        String portField = portField(port);
        forEachTcpSocket(line -> {
            Set<Long> found = listeners(line, port, portField);
            inodes.addAll(found);
            if (!found.isEmpty() && line.trim().split("\\s+")[1].startsWith(IPV6_ANY + ":")) {
                ipv6Any.addAll(found);
            }
        });
        return new Listeners(inodes, ipv6Any);
    }

    /** Each line of /proc/net/tcp, then of /proc/net/tcp6 (a table that cannot be read is skipped: no IPv6, say). */
    private static void forEachTcpSocket(Consumer<String> line) {
        for (String table : List.of("net/tcp", "net/tcp6")) {
            try (Stream<String> lines = Files.lines(PROC.resolve(table), StandardCharsets.US_ASCII)) {
                lines.forEach(line);
            } catch (IOException | UncheckedIOException ex) {
                // No IPv6, say.
            }
        }
    }

    /**
     * The inodes of the sockets listening on a port where 127.0.0.1 reaches them ({@code all}), and those of them on
     * IPv6's any address ({@code ipv6Any}), which take IPv4 connections unless {@code IPV6_V6ONLY} is set, which
     * /proc does not show.
     */
    record Listeners(Set<Long> all, Set<Long> ipv6Any) {
    }

    /**
     * The listeners of {@code found} that a process outside a worker's tree holds, the tree holding {@code own}. One on
     * {@code ::} is left out only where the tree holds an IPv4 one of its own and none on {@code ::}: then it may be
     * {@code IPV6_V6ONLY}, which 127.0.0.1 cannot reach, and any user could bind one to get a healthy worker stopped;
     * and were it dual-stack, the kernel still gives 127.0.0.1's connections to the IPv4 socket, the closer match
     * (both found by attacking helpers). Beside one of the tree's on {@code ::} it can only have joined it
     * ({@code SO_REUSEPORT}, same user); where the tree holds none at all, it may be taking the worker's connections.
     */
    static Set<Long> foreign(Listeners found, Set<Long> own) {
        Set<Long> foreign = new HashSet<>(found.all());
        foreign.removeAll(own);
        boolean ownIpv4 = own.stream().anyMatch(inode -> !found.ipv6Any().contains(inode));
        boolean ownIpv6Any = own.stream().anyMatch(found.ipv6Any()::contains);
        if (ownIpv4 && !ownIpv6Any) {
            foreign.removeAll(found.ipv6Any());
        }
        return foreign;
    }

    /**
     * Addresses as /proc/net/tcp{,6} write them (each 32-bit word in host order) that take connections to 127.0.0.1;
     * an IPv4-mapped IPv6 address ({@code ::ffff:0.0.0.0} is the IPv4 wildcard, found by an attacking helper) is
     * judged by its IPv4 part.
     */
    private static final String IPV6_ANY = "00000000000000000000000000000000";

    private static final Set<String> LOOPBACK_REACHABLE = Set.of("0100007F", "00000000", IPV6_ANY);

    private static final String IPV4_MAPPED = "0000000000000000FFFF0000";

    /** The inode of {@code line} of /proc/net/tcp{,6} when it is a listener on {@code port} 127.0.0.1 reaches. */
    static Set<Long> listeners(String line, int port) {
        return listeners(line, port, portField(port));
    }

    /** How /proc/net/tcp ends an address of {@code port}: {@code :1F90 }. */
    private static String portField(int port) {
        return String.format(":%04X ", port);
    }

    private static Set<Long> listeners(String line, int port, String portField) {
        // Every socket of the machine is a line, TIME_WAIT ones included: those of another port cost a search only.
        if (!line.contains(portField)) {
            return Set.of();
        }
        String[] fields = line.trim().split("\\s+");
        if (fields.length < 10 || !fields[3].equals("0A")) {
            return Set.of();
        }
        int colon = fields[1].indexOf(':');
        try {
            String address = colon < 0 ? "" : fields[1].substring(0, colon);
            if (address.length() == 32 && address.startsWith(IPV4_MAPPED)) {
                address = address.substring(IPV4_MAPPED.length());
            }
            if (colon < 0 || Integer.parseInt(fields[1].substring(colon + 1), 16) != port
                    || !LOOPBACK_REACHABLE.contains(address)) {
                return Set.of();
            }
            return Set.of(Long.parseLong(fields[9]));
        } catch (NumberFormatException ex) {
            return Set.of();
        }
    }

    /** The process's command name ({@code /proc/PID/comm}, at most 15 characters), made safe to print; "?" if gone. */
    static String command(long pid) {
        try {
            return dev.shepherd.TerminalText.safe(Files.readString(PROC.resolve(pid + "/comm"),
                    StandardCharsets.ISO_8859_1).strip());
        } catch (IOException | RuntimeException ex) {
            return "?";
        }
    }

    private static boolean holds(Path descriptors, String target) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(descriptors)) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(target)) {
                        return true;
                    }
                } catch (IOException ex) {
                    // Closed meanwhile.
                }
            }
        } catch (IOException | RuntimeException ex) {
            // Gone, or another user's.
        }
        return false;
    }

    private static boolean isPid(Path entry) {
        String name = entry.getFileName().toString();
        return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
    }

    /** Fields 4, 5 and 6 of /proc/PID/stat (after the command, which may itself hold spaces and parentheses). */
    static Optional<Stat> stat(long pid) {
        try {
            String[] fields = fieldsAfterCommand(pid);
            return Optional.of(new Stat(pid, Long.parseLong(fields[1]), Long.parseLong(fields[2]), Long.parseLong(fields[3])));
        } catch (IOException | RuntimeException ex) {
            return Optional.empty();
        }
    }

    /**
     * Whether the process has exited but not been reaped yet, or is exiting for good: every thread of it in
     * /proc/PID/task dead (state {@code Z}, zombie, or {@code X} in its stat, proc(5)) or marked {@code PF_EXITING}
     * (the flags field), which the kernel sets in {@code do_exit} before it closes the process's files. A killed
     * process resets its connections only after that, so a proxy that sees a reset and asks now is told; its first
     * thread can be a zombie while others still exit, and a process whose main thread ended while others run shows
     * {@code Z} too, which alone is no exit. The JDK's {@link ProcessHandle#isAlive} is true until the reaping. True too for a process seen dead or
     * exiting that is reaped while this reads its threads; false where it cannot be told (no /proc, or the process
     * had gone already). Reads a few small files; any thread.
     */
    public static boolean exitedNotReaped(long pid) {
        Path process = PROC.resolve(Long.toString(pid));
        try {
            String[] fields = fieldsAfterCommand(process);
            try {
                return exiting(fields) && everyThreadExiting(process);
            } catch (NoSuchFileException reaped) {
                // Seen dead or exiting a moment ago, and reaped since.
                return true;
            }
        } catch (IOException | RuntimeException ex) {
            return false;
        }
    }

    /** Whether the process is stopped by a signal ({@code SIGSTOP}, {@code SIGTSTP}: state {@code T}); false when unknown. */
    static boolean stopped(long pid) {
        try {
            return fieldsAfterCommand(pid)[0].equals("T");
        } catch (IOException | RuntimeException ex) {
            return false;
        }
    }

    /** {@code PF_EXITING} in include/linux/sched.h: the task is in {@code do_exit}. */
    private static final long PF_EXITING = 0x4;

    private static boolean dead(String state) {
        return state.equals("Z") || state.equals("X") || state.equals("x");
    }

    /** Fields from the state on: the flags are the seventh (field 9 of proc(5)). */
    private static boolean exiting(String[] fields) {
        return dead(fields[0]) || (Long.parseUnsignedLong(fields[6]) & PF_EXITING) != 0;
    }

    /** Whether every thread of the process is exiting or dead; a thread that has gone meanwhile counts as such. */
    private static boolean everyThreadExiting(Path process) throws IOException {
        try (DirectoryStream<Path> threads = Files.newDirectoryStream(process.resolve("task"))) {
            int seen = 0;
            for (Path thread : threads) {
                if (++seen > 10_000) {
                    return false;
                }
                String[] fields;
                try {
                    fields = fieldsAfterCommand(thread);
                } catch (IOException gone) {
                    continue;
                }
                if (!exiting(fields)) {
                    return false;
                }
            }
            return true;
        }
    }

    /**
     * /proc/PID/stat from field 3 (the state) on, split at spaces: the command before it may hold both, and any
     * bytes (read as ISO-8859-1, which decodes every byte).
     */
    private static String[] fieldsAfterCommand(long pid) throws IOException {
        return fieldsAfterCommand(PROC.resolve(Long.toString(pid)));
    }

    /** As {@link #fieldsAfterCommand(long)}, for a process's or a thread's directory: the first eight fields. */
    private static String[] fieldsAfterCommand(Path directory) throws IOException {
        String line = new String(Files.readAllBytes(directory.resolve("stat")), StandardCharsets.ISO_8859_1);
        return line.substring(line.lastIndexOf(')') + 2).split(" ", 8);
    }

    /**
     * Whether the process was started with {@code entry} ({@code NAME=value}) in its environment, as
     * /proc/PID/environ shows it (the environment it got at exec). False when it cannot be read: another user's
     * process, or one that has gone.
     */
    static boolean hasEnvironmentEntry(long pid, String entry) {
        byte[] wanted = ("\0" + entry + "\0").getBytes(StandardCharsets.UTF_8);
        try (InputStream in = Files.newInputStream(PROC.resolve(Long.toString(pid)).resolve("environ"))) {
            return contains(in, wanted);
        } catch (IOException | RuntimeException ex) {
            return false;
        }
    }

    /** Searches a stream of NUL-terminated entries, read as if it began with a NUL, in bounded pieces. */
    static boolean contains(InputStream in, byte[] wanted) throws IOException {
        byte[] window = new byte[64 * 1024 + wanted.length];
        window[0] = 0;
        int filled = 1;
        long total = 0;
        int read;
        while (total < MAX_ENVIRON_BYTES && (read = in.read(window, filled, window.length - filled)) > 0) {
            filled += read;
            total += read;
            if (indexOf(window, filled, wanted) >= 0) {
                return true;
            }
            int keep = Math.min(filled, wanted.length - 1);
            System.arraycopy(window, filled - keep, window, 0, keep);
            filled = keep;
        }
        return false;
    }

    private static int indexOf(byte[] haystack, int length, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
