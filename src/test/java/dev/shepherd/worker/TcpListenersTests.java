package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class TcpListenersTests {

    private static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";

    /** A line of /proc/net/tcp{,6}: {@code local} listening (state 0A) or in {@code state}, its socket {@code inode}. */
    private static String line(String local, String state, long inode) {
        return "   0: " + local + " 00000000:0000 " + state + " 00000000:00000000 00:00000000 00000000     0        0 "
                + inode + " 1 0 100 0 0 10 0";
    }

    @Test
    void anAddressIsReadAsTheKernelWritesIt() {
        assertThat(TcpListeners.parse("0100007F:0BB8")).hasValueSatisfying(socket -> {
            assertThat(socket).hasToString("127.0.0.1:3000");
            assertThat(socket.takesLoopbackIpv4()).isTrue();
        });
        assertThat(TcpListeners.parse("00000000000000000000000001000000:2405")).hasValueSatisfying(socket -> {
            assertThat(socket).hasToString("[::1]:9221");
            assertThat(socket.onIpv6Loopback()).isTrue();
            assertThat(socket.takesLoopbackIpv4()).as("::1 takes no IPv4 connection").isFalse();
        });
        assertThat(TcpListeners.parse("0000000000000000FFFF00000100007F:1F90")).as("IPv4-mapped: its IPv4 address")
                .hasValueSatisfying(socket -> assertThat(socket.takesLoopbackIpv4()).isTrue());
        assertThat(TcpListeners.parse("00000000:1F90")).hasValueSatisfying(socket -> {
            assertThat(socket).hasToString("0.0.0.0:8080");
            assertThat(socket.takesLoopbackIpv4()).isTrue();
        });
        assertThat(TcpListeners.parse("00000000000000000000000000000000:1F90")).hasValueSatisfying(socket -> {
            assertThat(socket).hasToString("[::]:8080");
            assertThat(socket.takesLoopbackIpv4()).as("dual-stack unless IPV6_V6ONLY, which /proc does not show").isTrue();
        });
        assertThat(TcpListeners.parse("0200007F:1F90")).hasValueSatisfying(socket ->
                assertThat(socket.takesLoopbackIpv4()).as("127.0.0.2").isFalse());
        assertThat(TcpListeners.parse("0100007F:0000")).as("no port").isEmpty();
        assertThat(TcpListeners.parse("garbage")).isEmpty();
        assertThat(TcpListeners.parse("0100007G:1F90")).isEmpty();
        assertThat(TcpListeners.parse("0100007F:1F9")).isEmpty();
    }

    @Test
    void anIpv6AddressIsWrittenAsRfc5952Says() throws IOException {
        assertThat(ListeningSocket.compressed(InetAddress.getByName("fd00::5").getAddress())).isEqualTo("fd00::5");
        assertThat(ListeningSocket.compressed(InetAddress.getByName("::").getAddress())).isEqualTo("::");
        assertThat(ListeningSocket.compressed(InetAddress.getByName("1:0:0:1:0:0:0:1").getAddress())).isEqualTo("1:0:0:1::1");
        assertThat(ListeningSocket.compressed(InetAddress.getByName("1:0:0:1:0:0:1:1").getAddress()))
                .as("the first of two runs as long").isEqualTo("1::1:0:0:1:1");
        assertThat(ListeningSocket.compressed(InetAddress.getByName("1:0:2:3:4:5:6:7").getAddress()))
                .as("one zero group stays").isEqualTo("1:0:2:3:4:5:6:7");
    }

    @Test
    void onlyTheTreesListenersAreReadAndTheReadingStopsWhereTheListenersEnd(@TempDir Path directory) throws IOException {
        Path table = directory.resolve("tcp");
        Files.write(table, List.of(HEADER,
                line("0100007F:0BB8", "0A", 4242),
                line("00000000:1F90", "0A", 1),
                line("0100007F:1F91", "01", 4343),
                line("0100007F:1F92", "0A", 4444)));
        List<ListeningSocket> found = new ArrayList<>();

        TcpListeners.read(table, Set.of(4242L, 4343L, 4444L), found);

        assertThat(found).as("another process's, a connection, and a listener past the listeners' part are not")
                .extracting(ListeningSocket::toString).containsExactly("127.0.0.1:3000");
    }

    @Test
    void aTableOfThousandsOfListenersIsReadUpToItsBound(@TempDir Path directory) throws IOException {
        Path table = directory.resolve("tcp");
        List<String> lines = new ArrayList<>(List.of(HEADER));
        Set<Long> inodes = new HashSet<>();
        for (int i = 1; i <= TcpListeners.MAX_LISTENERS + 100; i++) {
            lines.add(line(String.format("0100007F:%04X", i), "0A", i));
            inodes.add((long) i);
        }
        Files.write(table, lines);
        List<ListeningSocket> found = new ArrayList<>();

        TcpListeners.read(table, inodes, found);

        assertThat(found).hasSize(TcpListeners.MAX_LISTENERS);
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aProcesssListenersAreFoundWithTheirAddresses() throws IOException {
        try (ServerSocket v4 = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"));
             ServerSocket v6 = new ServerSocket()) {
            v6.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));

            List<ListeningSocket> found = TcpListeners.of(List.of(ProcessHandle.current()));

            assertThat(found).extracting(ListeningSocket::toString)
                    .contains("127.0.0.1:" + v4.getLocalPort(), "[::1]:" + v6.getLocalPort());
        }
    }
}
