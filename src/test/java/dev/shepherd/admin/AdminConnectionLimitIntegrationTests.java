package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code fleet.admin.max-connections-per-client} against a real admin port: one client outside loopback holding idle
 * connections (a slowloris) gets no more than the limit, and everyone else is still answered. The client is this
 * machine's own non-loopback address, so the test needs one (skipped without).
 */
class AdminConnectionLimitIntegrationTests {

    private static final int LIMIT = 4;
    private static final String TOKEN = "limit-test-token";

    @Test
    void oneClientGetsNoMoreThanTheLimitAndTheOthersAreStillAnswered() throws Exception {
        Optional<InetAddress> own = nonLoopbackAddress();
        assumeThat(own).as("this machine has no non-loopback IPv4 address; skipping the per-client limit test").isPresent();
        InetAddress client = own.get();
        List<Socket> held = new ArrayList<>();
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--management.server.address=0.0.0.0", "--fleet.admin.token=" + TOKEN,
                // The held connections send nothing: the default 10 s would close them during a slow refusal loop.
                "--server.tomcat.connection-timeout=120s",
                "--fleet.admin.max-connections-per-client=" + LIMIT)) {
            for (int i = 0; i < LIMIT; i++) {
                held.add(connect(client, shepherd.adminPort()));
            }

            Socket past = connect(client, shepherd.adminPort());
            held.add(past);
            assertThat(readsEnd(past, 5_000)).as("the connection past the limit is closed unread").isTrue();
            for (Socket socket : held.subList(0, LIMIT)) {
                assertThat(readsEnd(socket, 200)).as("a connection within the limit stays open").isFalse();
            }
            // More refusals than the port's 256 connections: each must give its place back.
            for (int i = 0; i < 300; i++) {
                try (Socket refused = connect(client, shepherd.adminPort())) {
                    assertThat(readsEnd(refused, 5_000)).isTrue();
                }
            }
            assertThat(shepherd.admin("GET", "/actuator/health", null, Map.of()).statusCode())
                    .as("a loopback client, not limited").isEqualTo(200);

            held.get(0).close();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                Socket again = connect(client, shepherd.adminPort());
                held.add(again);
                again.getOutputStream().write(("GET /actuator/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                        .getBytes());
                assertThat(new String(again.getInputStream().readAllBytes())).startsWith("HTTP/1.1 200");
            });
        } finally {
            RawHttp.closeAll(held);
        }
    }

    private static Socket connect(InetAddress client, int port) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(client, 0));
        socket.connect(new InetSocketAddress(client, port), 5_000);
        return socket;
    }

    /** Whether the other side closes {@code socket} without a byte within {@code millis}. */
    private static boolean readsEnd(Socket socket, int millis) throws IOException {
        socket.setSoTimeout(millis);
        try {
            return socket.getInputStream().read() == -1;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (SocketException reset) {
            return true;
        }
    }

    private static Optional<InetAddress> nonLoopbackAddress() throws SocketException {
        return NetworkInterface.networkInterfaces().filter(nic -> {
                    try {
                        return nic.isUp() && !nic.isLoopback();
                    } catch (SocketException ex) {
                        return false;
                    }
                }).flatMap(NetworkInterface::inetAddresses)
                .filter(address -> address instanceof Inet4Address && !address.isLoopbackAddress())
                .findFirst();
    }
}
