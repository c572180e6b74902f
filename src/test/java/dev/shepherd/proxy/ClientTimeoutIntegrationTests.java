package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The client clocks on a real master (header 400 ms, body 500 ms and at least 10 bytes a second, keep-alive 700 ms
 * here): a client that stalls a head or a body, or trickles a body below the rate, gets 408 and is closed, and its
 * worker connection with it; a body that trickles in with shorter pauses and a worker slower than all three are
 * served; an idle connection is closed silently.
 */
class ClientTimeoutIntegrationTests {

    private static final int WAIT_MILLIS = 5_000;

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        // A heap for the 8 MiB body (twice: the string and its bytes). Responses are not buffered, so that a client
        // that stops reading holds its worker until the send timeout (ResponseBufferingIntegrationTests has the
        // send timeout of a client whose response is kept in a file).
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(EchoWorker.class, "-Xmx96m")),
                "--fleet.proxy.client-header-timeout=400ms", "--fleet.proxy.client-body-timeout=500ms",
                "--fleet.proxy.client-body-min-rate=10B", "--fleet.proxy.response-buffering=false",
                "--fleet.proxy.keep-alive-timeout=700ms", "--fleet.proxy.client-send-timeout=800ms");
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    @Test
    void unfinishedHeadGets408AndIsClosedAtTheHeaderTimeout() throws IOException {
        long start = System.nanoTime();
        RawClient.Received received = send("GET /slow-head HTTP/1.1\r\nHost: t\r\n");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(RawHttp.status(received.bytes())).isEqualTo(408);
        assertThat(received.body()).contains("the request head was not complete within 400 ms (fleet.proxy.client-header-timeout)");
        assertThat(received.end()).isEqualTo(RawClient.End.FIN);
        assertThat(tookMillis).isBetween(400L, 2000L);
    }

    @Test
    void stalledBodyGets408AndTheWorkerConnectionIsGivenUp() throws IOException {
        long start = System.nanoTime();
        RawClient.Received received = send("POST /slow-body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(RawHttp.status(received.bytes())).isEqualTo(408);
        assertThat(received.body()).contains("no more of the request body came within 500 ms (fleet.proxy.client-body-timeout)");
        assertThat(received.end()).isEqualTo(RawClient.End.FIN);
        assertThat(tookMillis).isBetween(500L, 2000L);
        await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().inFlight() == 0);
        assertThat(shepherd.get("/after").body()).contains("uri=/after");
    }

    @Test
    void bodyThatTricklesInWithPausesShorterThanTheBodyTimeoutIsServed() throws IOException {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            out.write(bytes("POST /trickle HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 9\r\n\r\nabc"));
            for (String part : List.of("def", "ghi")) {
                pause(300);
                out.write(bytes(part));
            }
            RawClient.Received received = RawClient.read(socket.getInputStream());

            assertThat(RawHttp.status(received.bytes())).isEqualTo(200);
            assertThat(received.body()).contains("uri=/trickle").contains("body=9");
        }
    }

    /** A byte every 300 ms never pauses past the body timeout, but averages 3 bytes a second: below the minimum. */
    @Test
    void bodyTrickledBelowTheMinimumRateGets408ThoughNoPauseIsTooLong() throws IOException {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            long start = System.nanoTime();
            out.write(bytes("POST /trickle HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"));
            // Until the answer comes, as a client that reads while it uploads: the proxy drops what comes after it.
            for (int i = 0; i < 10 && socket.getInputStream().available() == 0; i++) {
                pause(300);
                try {
                    out.write(bytes("x"));
                } catch (IOException closed) {
                    break;
                }
            }
            RawClient.Received received = RawClient.read(socket.getInputStream());
            long tookMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(RawHttp.status(received.bytes())).isEqualTo(408);
            assertThat(received.body()).contains("the request body came slower than 10 bytes a second "
                    + "(fleet.proxy.client-body-min-rate)");
            assertThat(tookMillis).isLessThan(3000L);
        }
        assertThat(shepherd.get("/after").body()).contains("uri=/after");
    }

    @Test
    void idleKeepAliveConnectionIsClosedSilentlyAfterTheKeepAliveTimeout() throws IOException {
        long start = System.nanoTime();
        RawClient.Received received = send("GET /once HTTP/1.1\r\nHost: t\r\n\r\n");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(received.bytes()).startsWith("HTTP/1.1 200 ").contains("uri=/once");
        assertThat(received.bytes().split("HTTP/1.1 ", -1)).as("one response, nothing after it").hasSize(2);
        assertThat(received.end()).isEqualTo(RawClient.End.FIN);
        assertThat(tookMillis).isBetween(700L, 3000L);
    }

    /** As nginx logs 499: a request whose client left before any answer is counted, not lost from the metrics. */
    @Test
    void aRequestWhoseClientClosesBeforeItsAnswerIsCountedAsClientClosed() throws IOException {
        double before = clientClosed();
        try (Socket socket = connect()) {
            socket.getOutputStream().write("GET /slow?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.fleet().snapshot().workers().get(0).inFlight() == 1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> clientClosed() == before + 1);
    }

    private static double clientClosed() {
        io.micrometer.core.instrument.FunctionTimer timer = shepherd.context()
                .getBean(io.micrometer.core.instrument.MeterRegistry.class).find("shepherd.proxy.requests")
                .tags("outcome", "client-closed", "status", "4xx", "method", "GET").functionTimer();
        return timer == null ? 0 : timer.count();
    }

    @Test
    void workerResponseSlowerThanEveryClientTimeoutReachesTheClient() throws IOException {
        RawClient.Received received = send("GET /slow?ms=1500 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");

        assertThat(RawHttp.status(received.bytes())).isEqualTo(200);
        assertThat(received.body()).contains("uri=/slow?ms=1500");
    }

    @Test
    void everyConnectionOfAStallingAttackIsClosed() throws IOException {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket head = connect();
                head.getOutputStream().write(bytes("GET /slow-head HTTP/1.1\r\nHost: t\r\n"));
                Socket body = connect();
                body.getOutputStream().write(bytes("POST /slow-body HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc"));
                sockets.add(head);
                sockets.add(body);
            }
            for (Socket socket : sockets) {
                RawClient.Received received = RawClient.read(socket.getInputStream());
                assertThat(RawHttp.status(received.bytes())).isEqualTo(408);
                assertThat(received.end()).isEqualTo(RawClient.End.FIN);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().inFlight() == 0);
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    @Test
    void clientThatStopsReadingALargeResponseIsClosedAtTheSendTimeoutAndFreesTheWorker() throws IOException {
        // 8 MiB: more than the proxy's socket send buffer (at most 4 MiB here) and this client's 4 KiB can hold.
        try (Socket socket = new Socket()) {
            socket.setReceiveBufferSize(4096);
            socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
            long start = System.nanoTime();
            socket.getOutputStream().write(bytes("GET /bytes?n=8388608 HTTP/1.1\r\nHost: t\r\n\r\n"));
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().inFlight() == 1);

            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 0);

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(800));
            assertThat(shepherd.get("/after").body()).contains("uri=/after");
            socket.setSoTimeout(WAIT_MILLIS);
            InputStream in = socket.getInputStream();
            long read = 0;
            try {
                for (int n = in.read(new byte[65536]); n >= 0; n = in.read(new byte[65536])) {
                    read += n;
                }
            } catch (java.net.SocketException reset) {
                // A close with unread data in the proxy's buffer may arrive as a reset: the response is cut either way.
            }
            assertThat(read).as("bytes the client got before the close").isLessThan(8_388_608L);
        }
    }

    private static RawClient.Received send(String request) throws IOException {
        try (Socket socket = connect()) {
            socket.getOutputStream().write(bytes(request));
            return RawClient.read(socket.getInputStream());
        }
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort());
        socket.setSoTimeout(WAIT_MILLIS);
        return socket;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static void pause(long millis) {
        await().pollDelay(Duration.ofMillis(millis)).atMost(Duration.ofMillis(millis + 1000)).until(() -> true);
    }
}
