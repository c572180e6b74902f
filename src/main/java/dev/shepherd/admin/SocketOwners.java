package dev.shepherd.admin;

import jakarta.servlet.ServletConnection;
import jakarta.servlet.http.HttpServletRequest;
import lombok.extern.slf4j.Slf4j;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * Which user's process is on the other end of an admin connection over loopback, for an admin port without a token:
 * found as {@code ss -tep} and identd find it, in the kernel's socket tables {@code /proc/net/tcp} and
 * {@code /proc/net/tcp6} (proc(5); the kernel's {@code Documentation/networking/proc_net_tcp.rst}), on the line
 * whose local address is the caller's and whose remote address is the admin port's. Without a token the admin port
 * admits only its own user's processes and root's, as PM2's daemon admits only its user through
 * {@code ~/.pm2/rpc.sock}: any other user of the machine could otherwise drive the fleet and, through a reload's
 * command, run programs as the master's user (found by a helper acting as a new user).
 *
 * <p>A line no open socket owns (inode 0: the caller closed its socket, and the kernel ends the connection in its
 * name, listed as root's) and a {@code TIME_WAIT} line admit no one, so a request sent and closed at once is not
 * taken for root's. A caller found on no line is refused. The answer for a connection is kept by Tomcat's
 * connection id (a counter, never reused while the master runs), for at most {@link #REMEMBERED} connections, so a
 * keep-alive client is looked up once; reading stops at the caller's line (21 ms to read 14,000 lines here).
 *
 * <p>Where the tables cannot be read (not Linux), it {@link #checks() checks} nothing: every loopback caller is
 * admitted, and {@link NoTokenWarning} says so. In a user namespace ({@code /proc/self/uid_map} is not the identity),
 * the tables give every user the namespace does not map as the kernel's overflow user
 * ({@code /proc/sys/kernel/overflowuid}, 65534: {@code nobody}), so a master running as that user there took every
 * other user of the host for its own (found by an attacking helper, with a program run as the master's user through
 * a reload): there it is {@link #blind()}, and admits no one, as no caller can be told apart.
 *
 * <p>The tables list every socket of the host, {@code TIME_WAIT} ones too, so any local user can make each new admin
 * connection's look-up longer (some 400 ms of reading with 100,000 sockets): a slower admin port, not a way in.
 * Used by any number of request threads at once.
 */
@Slf4j
final class SocketOwners {

    /** How many connections' answers are kept at most. */
    static final int REMEMBERED = 256;
    /** {@code TIME_WAIT} in the tables' {@code st} column (include/net/tcp_states.h). */
    private static final String TIME_WAIT = "06";
    /** {@code LISTEN}. */
    private static final String LISTEN = "0A";
    private static final int ROOT = 0;

    private final Path tcp;
    private final Path tcp6;
    private final int owner;
    private final int overflow;
    private final boolean namespaced;
    private final Map<String, Integer> remembered = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
            return size() > REMEMBERED;
        }
    };

    /**
     * @param net the directory of the socket tables ({@code /proc/net} but in tests)
     * @param owner the user id whose processes are admitted, besides root's
     * @param overflow the user id the tables give users a user namespace does not map (the kernel's overflowuid)
     * @param namespaced whether this process runs in a user namespace, whose map is not the identity
     */
    SocketOwners(Path net, int owner, int overflow, boolean namespaced) {
        this.tcp = net.resolve("tcp");
        this.tcp6 = net.resolve("tcp6");
        this.owner = owner;
        this.overflow = overflow;
        this.namespaced = namespaced;
    }

    SocketOwners(Path net, int owner) {
        this(net, owner, DEFAULT_OVERFLOW, false);
    }

    /** The kernel's default overflow user id, {@code nobody}'s. */
    static final int DEFAULT_OVERFLOW = 65534;

    /**
     * This process's tables, effective user id ({@code /proc/self/status}; -1 where that cannot be read) and the
     * kernel's overflow user id ({@code /proc/sys/kernel/overflowuid}).
     */
    static SocketOwners ofThisProcess() {
        int overflow = DEFAULT_OVERFLOW;
        boolean namespaced = false;
        try {
            // Read as lines: Files.readString gave "6" of "65534" (a /proc file's size is not its content's), so a
            // master running as nobody in a user namespace went on trusting the tables (found by an attacking helper).
            overflow = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/overflowuid")).get(0).strip());
            namespaced = namespaced(Files.readAllLines(Path.of("/proc/self/uid_map")));
        } catch (IOException | RuntimeException unreadable) {
            log.debug("No overflow user id or user map: {}", unreadable.toString());
        }
        return new SocketOwners(Path.of("/proc/net"), effectiveUid(Path.of("/proc/self/status")), overflow, namespaced);
    }

    /** Whether a {@code uid_map}'s lines map less than every user to itself ({@code 0 0 4294967295}). */
    static boolean namespaced(List<String> uidMap) {
        return !(uidMap.size() == 1 && uidMap.get(0).strip().split("\\s+").length == 3
                && List.of(uidMap.get(0).strip().split("\\s+")).equals(List.of("0", "0", "4294967295")));
    }

    /** The effective user id in a {@code status} file's {@code Uid:} line (real, effective, saved, file system), or -1. */
    static int effectiveUid(Path status) {
        try {
            for (String line : Files.readAllLines(status, StandardCharsets.ISO_8859_1)) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).strip().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            log.debug("No user id in {}: {}", status, unreadable.toString());
        }
        return -1;
    }

    /**
     * Whether callers are told apart: the tables can be read, and this process's user id is known and not the one
     * they give every user a user namespace does not map.
     */
    boolean checks() {
        return owner >= 0 && Files.isReadable(tcp) && !blind();
    }

    /**
     * Whether no caller can be told apart, so none is admitted: the master runs in a user namespace as the user the
     * tables give every user the namespace does not map.
     */
    boolean blind() {
        return namespaced && owner >= 0 && owner == overflow;
    }

    /** Why callers are not told apart, for a warning; null when they are. */
    String whyNotChecked() {
        if (checks()) {
            return null;
        }
        return blind() ? "the master runs as uid " + owner + " in a user namespace, where the kernel's socket tables "
                + "give that uid to every user the namespace does not map" : "the kernel's socket tables (/proc/net/tcp) "
                + "cannot be read here";
    }

    /** The user id the tables give every user a user namespace does not map. */
    int overflow() {
        return overflow;
    }

    /** The user id admitted besides root: the master's. */
    int owner() {
        return owner;
    }

    /** Whose processes are admitted, for a message: {@code root's processes}, or {@code processes of NAME (uid N) and root's}. */
    String admitted() {
        if (blind()) {
            return "no process, as " + whyNotChecked();
        }
        return owner == ROOT ? "root's processes"
                : "processes of " + System.getProperty("user.name") + " (uid " + owner + ") and root's";
    }

    /** Whether {@code request} came from a process of the master's user or root's; true when nothing {@link #checks()}. */
    boolean admits(HttpServletRequest request) {
        if (blind()) {
            return false;
        }
        if (!checks()) {
            return true;
        }
        String connection = connectionId(request);
        Integer known;
        synchronized (remembered) {
            known = connection == null ? null : remembered.get(connection);
        }
        if (known == null) {
            // The connection's own ends, as the first valve saw them (SocketPeerValve); MockMvc's requests have none.
            SocketPeerValve.Peer peer = request.getAttribute(SocketPeerValve.ATTRIBUTE) instanceof SocketPeerValve.Peer kept
                    ? kept : new SocketPeerValve.Peer(request.getRemoteAddr(), request.getRemotePort(),
                    request.getLocalAddr(), request.getLocalPort());
            known = ownerOf(peer.remoteAddress(), peer.remotePort(), peer.localAddress(), peer.localPort()).orElse(-1);
            if (connection != null) {
                synchronized (remembered) {
                    remembered.put(connection, known);
                }
            }
        }
        return known >= 0 && (known == owner || known == ROOT);
    }

    private static String connectionId(HttpServletRequest request) {
        try {
            ServletConnection connection = request.getServletConnection();
            String id = connection == null ? null : connection.getConnectionId();
            return id == null || id.isEmpty() ? null : id;
        } catch (RuntimeException none) {
            return null;
        }
    }

    /**
     * The user id owning the socket at {@code callerAddress:callerPort} connected to {@code localAddress:localPort},
     * looked for in {@code tcp} (an IPv4 socket) and {@code tcp6} (an IPv6 one, which Java's clients use for IPv4 too,
     * as {@code ::ffff:127.0.0.1}); empty when no open socket is found or an address is no IP literal.
     */
    OptionalInt ownerOf(String callerAddress, int callerPort, String localAddress, int localPort) {
        InetAddress caller;
        InetAddress local;
        try {
            caller = literal(callerAddress);
            local = literal(localAddress);
        } catch (UnknownHostException notLiteral) {
            return OptionalInt.empty();
        }
        List<Lookup> lookups = new ArrayList<>(2);
        if (caller instanceof Inet4Address && local instanceof Inet4Address) {
            lookups.add(new Lookup(tcp, column(caller.getAddress(), callerPort), column(local.getAddress(), localPort)));
        }
        lookups.add(new Lookup(tcp6, column(mapped(caller), callerPort), column(mapped(local), localPort)));
        for (Lookup lookup : lookups) {
            OptionalInt uid = find(lookup.table(), " " + lookup.caller() + " " + lookup.local() + " ");
            if (uid.isPresent()) {
                return uid;
            }
        }
        return OptionalInt.empty();
    }

    /** The uid on the first line holding {@code addresses} of an open socket that is neither listening nor in TIME_WAIT. */
    private static OptionalInt find(Path table, String addresses) {
        try (BufferedReader lines = Files.newBufferedReader(table, StandardCharsets.ISO_8859_1)) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (!line.contains(addresses)) {
                    continue;
                }
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                String[] fields = line.strip().split("\\s+");
                if (fields.length < 10 || fields[3].equals(TIME_WAIT) || fields[3].equals(LISTEN) || fields[9].equals("0")) {
                    continue;
                }
                return OptionalInt.of(Integer.parseInt(fields[7]));
            }
        } catch (IOException | RuntimeException unreadable) {
            log.debug("Cannot read {}: {}", table, unreadable.toString());
        }
        return OptionalInt.empty();
    }

    /** An IP address as Tomcat gives it; never a host name, which would be looked up. */
    private static InetAddress literal(String address) throws UnknownHostException {
        if (address == null || !(address.contains(":") || address.matches("[0-9.]+"))) {
            throw new UnknownHostException("not an IP literal: " + address);
        }
        return InetAddress.getByName(address);
    }

    /** Where to look for a caller's socket: a table, and the two address columns of the caller's line. */
    private record Lookup(Path table, String caller, String local) {
    }

    /** {@code address} as an IPv6 address: an IPv4 one mapped ({@code ::ffff:a.b.c.d}, RFC 4291 §2.5.5.2). */
    private static byte[] mapped(InetAddress address) {
        if (address instanceof Inet6Address) {
            return address.getAddress();
        }
        byte[] bytes = new byte[16];
        bytes[10] = (byte) 0xff;
        bytes[11] = (byte) 0xff;
        System.arraycopy(address.getAddress(), 0, bytes, 12, 4);
        return bytes;
    }

    /**
     * An address and port as the tables write them: each 32-bit word of the address as the kernel stores it (network
     * order) read in the host's order, in upper-case hex, then {@code :} and the port in hex.
     */
    static String column(byte[] address, int port) {
        ByteBuffer words = ByteBuffer.wrap(address).order(ByteOrder.nativeOrder());
        StringBuilder column = new StringBuilder(address.length * 2 + 5);
        while (words.hasRemaining()) {
            column.append(String.format(Locale.ROOT, "%08X", words.getInt()));
        }
        return column.append(String.format(Locale.ROOT, ":%04X", port)).toString();
    }
}
