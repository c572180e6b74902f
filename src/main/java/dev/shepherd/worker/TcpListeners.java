package dev.shepherd.worker;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The TCP sockets a process tree listens on, from the kernel's socket tables of its network namespace
 * ({@code /proc/net/tcp} and {@code tcp6}, proc(5)) and the tree's descriptors. Bounded, so that a worker with
 * thousands of sockets costs no more than a few thousand lines: {@link #MAX_MEMBERS} processes,
 * {@link #MAX_DESCRIPTORS} descriptors of each, {@link #MAX_LISTENERS} listeners of each table, read in its
 * listening part only. Reads /proc: not for the supervisor's thread at every probe.
 */
final class TcpListeners {

    /** Processes of a tree whose descriptors are read. */
    static final int MAX_MEMBERS = 64;
    /** Descriptors read per process: a listener is opened early, and /proc lists descriptors lowest first. */
    static final int MAX_DESCRIPTORS = 4096;
    /** Listening lines read per table, and sockets returned at most. */
    static final int MAX_LISTENERS = 4096;

    private static final String LISTEN = "0A";

    private TcpListeners() {
    }

    /** The listening sockets that {@code members}' descriptors hold; empty where there is no /proc. */
    static List<ListeningSocket> of(List<ProcessHandle> members) {
        if (!ProcFs.available()) {
            return List.of();
        }
        Set<Long> inodes = new HashSet<>();
        members.stream().limit(MAX_MEMBERS).forEach(member -> inodes.addAll(ProcFs.sockets(member.pid(), MAX_DESCRIPTORS)));
        if (inodes.isEmpty()) {
            return List.of();
        }
        List<ListeningSocket> found = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            read(Path.of(table), inodes, found);
        }
        return found;
    }

    /**
     * Adds the listeners of {@code table} whose inode is in {@code inodes}. The kernel writes a table's listeners
     * first, then the other sockets ({@code tcp_seq_start}: the listening hash before the established one), so the
     * reading stops at the first line of another state: a machine's ten thousand connections cost nothing.
     */
    static void read(Path table, Set<Long> inodes, List<ListeningSocket> found) {
        try (BufferedReader lines = Files.newBufferedReader(table, StandardCharsets.US_ASCII)) {
            lines.readLine();
            String line;
            for (int read = 0; read < MAX_LISTENERS && found.size() < MAX_LISTENERS && (line = lines.readLine()) != null; read++) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length < 10 || !fields[3].equals(LISTEN)) {
                    return;
                }
                if (inodes.contains(parseInode(fields[9]))) {
                    parse(fields[1]).ifPresent(found::add);
                }
            }
        } catch (IOException | RuntimeException ex) {
            // No IPv6, say, or no /proc.
        }
    }

    private static long parseInode(String field) {
        try {
            return Long.parseLong(field);
        } catch (NumberFormatException ex) {
            return -1;
        }
    }

    /**
     * A local address as the tables write it: the address in hex, each 32-bit word in the host's byte order, a colon,
     * the port in hex ({@code 0100007F:0BB8} is 127.0.0.1:3000); empty when it is not one.
     */
    static Optional<ListeningSocket> parse(String field) {
        int colon = field.indexOf(':');
        if (colon != 8 && colon != 32 || field.length() - colon - 1 != 4) {
            return Optional.empty();
        }
        try {
            byte[] address = new byte[colon / 2];
            for (int i = 0; i < address.length; i++) {
                address[i] = (byte) Integer.parseInt(field, 2 * i, 2 * i + 2, 16);
            }
            if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
                for (int word = 0; word < address.length; word += 4) {
                    swap(address, word, word + 3);
                    swap(address, word + 1, word + 2);
                }
            }
            int port = Integer.parseInt(field, colon + 1, field.length(), 16);
            return port == 0 ? Optional.empty()
                    : Optional.of(new ListeningSocket(InetAddress.getByAddress(address), port));
        } catch (NumberFormatException | UnknownHostException ex) {
            return Optional.empty();
        }
    }

    private static void swap(byte[] bytes, int i, int j) {
        byte kept = bytes[i];
        bytes[i] = bytes[j];
        bytes[j] = kept;
    }
}
