package dev.shepherd.admin;

import jakarta.servlet.ServletConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.mock.web.MockHttpServletRequest;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The socket tables read as the kernel writes them, with fakes; and this host's, where it is Linux. */
class SocketOwnersTests {

    private static final String HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
            + "timeout inode\n";
    /** 127.0.0.1 as the tables write it on a little-endian host. */
    private static final String LOOPBACK = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "0100007F" : "7F000001";

    @TempDir
    Path net;

    @Test
    void anAddressIsWrittenAsTheKernelWritesIt() {
        assertThat(SocketOwners.column(new byte[] {127, 0, 0, 1}, 8081)).isEqualTo(LOOPBACK + ":1F91");
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = 127;
        mapped[15] = 1;
        assertThat(SocketOwners.column(mapped, 80)).isEqualTo("00000000" + "00000000"
                + (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "FFFF0000" : "0000FFFF") + LOOPBACK + ":0050");
    }

    @Test
    void theCallersLineGivesItsOwnerAndOnlyTheMastersUserAndRootAreAdmitted() throws IOException {
        table("tcp", line(LOOPBACK + ":1F91", "00000000:0000", "0A", 0, 100),
                line(LOOPBACK + ":9C40", LOOPBACK + ":1F91", "01", 1000, 200),
                line(LOOPBACK + ":9C41", LOOPBACK + ":1F91", "01", 65534, 201),
                line(LOOPBACK + ":9C42", LOOPBACK + ":1F91", "01", 0, 202));
        table("tcp6", "");
        SocketOwners owners = new SocketOwners(net, 1000);

        assertThat(owners.ownerOf("127.0.0.1", 40000, "127.0.0.1", 8081)).hasValue(1000);
        assertThat(owners.admits(request(40000))).isTrue();
        assertThat(owners.admits(request(40001))).as("another user").isFalse();
        assertThat(owners.admits(request(40002))).as("root").isTrue();
        assertThat(owners.admits(request(40003))).as("on no line").isFalse();
    }

    /** A request sent and closed at once: the kernel ends the connection for no socket, and lists it as root's. */
    @Test
    void aSocketClosedByItsCallerOrInTimeWaitAdmitsNoOne() throws IOException {
        table("tcp", line(LOOPBACK + ":9C40", LOOPBACK + ":1F91", "04", 0, 0),
                line(LOOPBACK + ":9C41", LOOPBACK + ":1F91", "06", 0, 0),
                line(LOOPBACK + ":9C42", LOOPBACK + ":1F91", "06", 1000, 7));
        table("tcp6", "");
        SocketOwners owners = new SocketOwners(net, 1000);

        assertThat(owners.admits(request(40000))).as("FIN_WAIT1, orphaned").isFalse();
        assertThat(owners.admits(request(40001))).as("TIME_WAIT").isFalse();
        assertThat(owners.admits(request(40002))).as("TIME_WAIT with an owner").isFalse();
    }

    /** Java's clients reach 127.0.0.1 from an IPv6 socket: their line is in tcp6, the address mapped. */
    @Test
    void anIpv4CallerOnAnIpv6SocketIsFoundInTcp6() throws IOException {
        String mapped = "0000000000000000" + (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "FFFF0000" : "0000FFFF")
                + LOOPBACK;
        table("tcp", "");
        table("tcp6", line(mapped + ":9C40", mapped + ":1F91", "01", 1000, 300));

        assertThat(new SocketOwners(net, 1000).ownerOf("127.0.0.1", 40000, "127.0.0.1", 8081)).hasValue(1000);
        assertThat(new SocketOwners(net, 1000).ownerOf("0:0:0:0:0:0:0:1", 40000, "0:0:0:0:0:0:0:1", 8081)).isEmpty();
    }

    @Test
    void aConnectionIsLookedUpOnceAndAHostNameNever() throws IOException {
        table("tcp", line(LOOPBACK + ":9C40", LOOPBACK + ":1F91", "01", 1000, 200));
        table("tcp6", "");
        SocketOwners owners = new SocketOwners(net, 1000);
        MockHttpServletRequest first = onConnection("17", request(40000));
        assertThat(owners.admits(first)).isTrue();

        table("tcp", line(LOOPBACK + ":9C40", LOOPBACK + ":1F91", "01", 65534, 200));
        assertThat(owners.admits(first)).as("the same connection, remembered").isTrue();
        assertThat(owners.ownerOf("localhost", 40000, "127.0.0.1", 8081)).isEmpty();
    }

    @Test
    void withoutTablesEveryCallerIsAdmittedAndNothingIsChecked() {
        SocketOwners owners = new SocketOwners(net.resolve("absent"), 1000);

        assertThat(owners.checks()).isFalse();
        assertThat(owners.admits(request(40000))).isTrue();
        assertThat(new SocketOwners(net, -1).checks()).as("no user id known").isFalse();
    }

    /**
     * Found by an attacking helper: in a user namespace the tables give every unmapped user the overflow uid, and a
     * master running as nobody (65534) took them all for its own.
     */
    @Test
    void aMasterRunningAsTheOverflowUserInAUserNamespaceAdmitsNoOneAndSaysWhy() throws IOException {
        table("tcp", line(LOOPBACK + ":9C40", LOOPBACK + ":1F91", "01", 65534, 200));
        table("tcp6", "");
        SocketOwners nobody = new SocketOwners(net, 65534, 65534, true);

        assertThat(nobody.blind()).isTrue();
        assertThat(nobody.checks()).isFalse();
        assertThat(nobody.admits(request(40000))).as("every host user looks like nobody").isFalse();
        assertThat(nobody.whyNotChecked()).contains("in a user namespace, where the kernel's socket tables give that uid");
        assertThat(nobody.admitted()).startsWith("no process, as the master runs as uid 65534 in a user namespace");

        SocketOwners hostNobody = new SocketOwners(net, 65534, 65534, false);
        assertThat(hostNobody.blind()).as("nobody outside a user namespace").isFalse();
        assertThat(hostNobody.admits(request(40000))).isTrue();
        assertThat(new SocketOwners(net, 1000, 65534, true).admits(request(40000))).as("an unmapped user").isFalse();
        assertThat(new SocketOwners(net, 1000, 65534, true).whyNotChecked()).isNull();
    }

    @Test
    void aUserMapOtherThanTheIdentityIsAUserNamespace() {
        assertThat(SocketOwners.namespaced(java.util.List.of("         0          0 4294967295"))).isFalse();
        assertThat(SocketOwners.namespaced(java.util.List.of("         0       1000          1"))).isTrue();
        assertThat(SocketOwners.namespaced(java.util.List.of("0 0 1000", "1000 1000 1"))).isTrue();
        assertThat(SocketOwners.namespaced(java.util.List.of())).isTrue();
    }

    /** Found by an attacking helper: Files.readString of /proc/sys/kernel/overflowuid gave "6". */
    @Test
    void thisHostsOverflowUserIsReadWhole() throws IOException {
        Path overflow = Path.of("/proc/sys/kernel/overflowuid");
        assumeThat(Files.isReadable(overflow)).as("Linux").isTrue();
        SocketOwners owners = SocketOwners.ofThisProcess();
        int expected = Integer.parseInt(Files.readAllLines(overflow).get(0).strip());
        assertThat(owners.overflow()).isEqualTo(expected).isGreaterThan(99);
        assertThat(owners.blind()).isFalse();
        assertThat(new SocketOwners(net, expected, expected, true).blind()).isTrue();
    }

    @Test
    void theEffectiveUserIdIsTheSecondOfTheStatusLine() throws IOException {
        Path status = Files.writeString(net.resolve("status"), "Name:\tjava\nUid:\t1000\t1001\t1002\t1003\nGid:\t5\n");

        assertThat(SocketOwners.effectiveUid(status)).isEqualTo(1001);
        assertThat(SocketOwners.effectiveUid(net.resolve("none"))).isEqualTo(-1);
    }

    /** On this host's own tables, a socket of this process is found, and its owner is this process's user. */
    @Test
    void onThisHostAConnectionOfThisProcessIsItsUsers() throws IOException {
        SocketOwners owners = SocketOwners.ofThisProcess();
        assumeThat(owners.checks()).as("the kernel's socket tables (Linux)").isTrue();
        InetAddress loopback = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new ServerSocket(0, 1, loopback);
                Socket client = new Socket(loopback, server.getLocalPort());
                Socket accepted = server.accept()) {
            OptionalInt owner = owners.ownerOf(accepted.getInetAddress().getHostAddress(), accepted.getPort(),
                    accepted.getLocalAddress().getHostAddress(), accepted.getLocalPort());

            assertThat(owner).hasValue(owners.owner());
            assertThat(client.isConnected()).isTrue();
        }
    }

    private void table(String name, String... lines) throws IOException {
        Files.writeString(net.resolve(name), HEADER + String.join("", lines));
    }

    private static String line(String local, String remote, String state, int uid, long inode) {
        return "   0: %s %s %s 00000000:00000000 00:00000000 00000000 %5d        0 %d 1 0000000000000000 20 4 30 10 -1\n"
                .formatted(local, remote, state, uid, inode);
    }

    /** {@code request} as Tomcat hands it over: on a connection with an id. */
    private static MockHttpServletRequest onConnection(String id, MockHttpServletRequest request) {
        MockHttpServletRequest onConnection = new MockHttpServletRequest(request.getMethod(), request.getRequestURI()) {
            @Override
            public ServletConnection getServletConnection() {
                return new ServletConnection() {
                    @Override
                    public String getConnectionId() {
                        return id;
                    }

                    @Override
                    public String getProtocol() {
                        return "HTTP/1.1";
                    }

                    @Override
                    public String getProtocolConnectionId() {
                        return "";
                    }

                    @Override
                    public boolean isSecure() {
                        return false;
                    }
                };
            }
        };
        onConnection.setRemoteAddr(request.getRemoteAddr());
        onConnection.setRemotePort(request.getRemotePort());
        onConnection.setLocalAddr(request.getLocalAddr());
        onConnection.setLocalPort(request.getLocalPort());
        return onConnection;
    }

    private static MockHttpServletRequest request(int port) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/fleet");
        request.setRemoteAddr("127.0.0.1");
        request.setRemotePort(port);
        request.setLocalAddr("127.0.0.1");
        request.setLocalPort(8081);
        return request;
    }
}
