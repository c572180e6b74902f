package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.WebSocketWorker;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A tunnel whose client has sent its FIN while the worker never closes its own side is closed after
 * {@code fleet.proxy.tunnel.half-closed-timeout} without a byte (HAProxy's {@code timeout client-fin}), not after
 * the hour of {@code tunnel.idle-timeout}: a peer that keeps its half open cannot hold the tunnel, nor skew the
 * placement of new ones, which counts open tunnels.
 */
class HalfClosedTunnelIntegrationTests {

    @Test
    void aHalfClosedTunnelThatCarriesNothingIsClosedAfterTheHalfClosedTimeout() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(WebSocketWorker.class, "-Xmx64m")),
                "--fleet.proxy.upgrade-protocols=websocket,echo-bytes", "--fleet.proxy.tunnel.half-closed-timeout=500ms");
             Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(("GET /raw-hold HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                    + "Upgrade: echo-bytes\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            assertThat(TunnelIntegrationTests.readHead(in)).startsWith("HTTP/1.1 101 Switching Protocols");
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().workers().get(0).endpoint()
                    .tunnels() == 1);

            long finAt = System.nanoTime();
            socket.shutdownOutput();
            RawClient.Received rest = RawClient.read(in);

            assertThat(rest.bytes()).as("what the worker sent after the FIN still came").isEqualTo("bye");
            assertThat(rest.end()).isEqualTo(RawClient.End.FIN);
            assertThat(Duration.ofNanos(System.nanoTime() - finAt)).isBetween(Duration.ofMillis(400),
                    Duration.ofSeconds(5));
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().workers().get(0).endpoint()
                    .tunnels() == 0);
        }
    }
}
