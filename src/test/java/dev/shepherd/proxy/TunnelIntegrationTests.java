package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.WebSocketWorker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Upgrade tunnels through a real master, with real worker processes ({@link WebSocketWorker}, Netty's WebSocket
 * server) and the JDK's own WebSocket client: the handshake reaches the worker as one, frames of every kind and
 * size go both ways, tunnels are placed by open count, end with their worker (at once on a crash, with
 * {@code 1001 Going Away} on a drain), and an upgrade the proxy does not pass on is a plain request.
 */
class TunnelIntegrationTests {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static Path record;
    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() throws IOException {
        record = Files.createTempFile("tunnels", ".log");
        shepherd = RunningShepherd.startReady("--fleet.workers=2",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(WebSocketWorker.class, "-Xmx64m")),
                "--fleet.worker.environment.RECORD_FILE=" + record,
                "--fleet.proxy.upgrade-protocols=websocket,echo-bytes",
                "--fleet.proxy.tunnel.drain-timeout=1s", "--fleet.proxy.upstream-idle-timeout=60s");
    }

    @AfterAll
    static void stop() throws IOException {
        shepherd.close();
        Files.deleteIfExists(record);
    }

    @Test
    void textBinaryAndPingReachTheWorkerAndComeBack() throws Exception {
        Client client = Client.open(shepherd.proxyPort());
        try {
            client.socket.sendText("hello", true).join();
            assertThat(client.next()).isEqualTo("text:hello");
            client.socket.sendBinary(ByteBuffer.wrap(new byte[] {0, 1, 2, (byte) 255}), true).join();
            assertThat(client.next()).isEqualTo("binary:4");
            client.socket.sendPing(ByteBuffer.wrap("are you there".getBytes(StandardCharsets.UTF_8))).join();
            assertThat(client.next()).isEqualTo("pong:are you there");
        } finally {
            client.close();
        }
    }

    @Test
    void aMessageOfOneMebibyteArrivesWhole() throws Exception {
        Client client = Client.open(shepherd.proxyPort());
        try {
            String big = "x".repeat(1 << 20);
            client.socket.sendText(big, true).join();
            assertThat(client.next()).hasSize("text:".length() + (1 << 20)).endsWith("xxxx");
        } finally {
            client.close();
        }
    }

    @Test
    void newTunnelsGoToTheWorkerWithFewestOpenOnes() throws Exception {
        List<Client> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                clients.add(Client.open(shepherd.proxyPort()));
            }
            Map<String, Long> perWorker = new java.util.HashMap<>();
            for (Client client : clients) {
                perWorker.merge(client.whoami(), 1L, Long::sum);
            }
            assertThat(perWorker.values()).containsExactly(5L, 5L);
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(shepherd.admin("GET", "/fleet", null).body()).contains("\"tunnels\":5"));
            assertThat(shepherd.snapshot().tunnels()).isEqualTo(10);
            assertThat(shepherd.admin("GET", "/actuator/prometheus", null).body())
                    .containsPattern("shepherd_proxy_tunnels\\{index=\"\\d+\"} 5.0");
        } finally {
            clients.forEach(Client::close);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().tunnels() == 0);
        assertThat(shepherd.admin("GET", "/actuator/prometheus", null).body())
                .contains("shepherd_proxy_tunnels_opened_total").contains("shepherd_proxy_tunnels_closed_total")
                .containsPattern("shepherd_proxy_tunnels\\{index=\"\\d+\"} 0.0");
    }

    @Test
    void aPlainAnswerToAnUpgradeIsAnOrdinaryResponseAndTheConnectionGoesOn() throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write(("GET /plain HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                    + "GET /again HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String received = RawClient.read(socket.getInputStream()).bytes();
            assertThat(received).startsWith("HTTP/1.1 200 OK").contains("plain websocket ").contains("plain - ");
            assertThat(received.split("HTTP/1.1 200 OK", -1)).hasSize(3);
        }
    }

    @Test
    void bytesSentRightAfterAnUpgradeQueuedBehindAnotherRequestGoOnThroughTheTunnel() throws Exception {
        // The new protocol's first bytes, as a WebSocket frame starts: bytes an HTTP decoder would skip or choke on.
        String early = "\u0082\u0005early";
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(5_000);
            // One packet: a plain request, then an upgrade that waits behind it, then the new protocol's bytes.
            socket.getOutputStream().write(("GET /plain HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "GET /raw HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo-bytes\r\n\r\n" + early)
                    .getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = socket.getInputStream();
            String plain = readHead(in);
            assertThat(plain).startsWith("HTTP/1.1 200 OK\r\n");
            int length = Integer.parseInt(plain.replaceAll("(?is).*content-length: *(\\d+).*", "$1"));
            assertThat(new String(in.readNBytes(length), StandardCharsets.US_ASCII)).startsWith("plain - ");
            assertThat(readHead(in)).startsWith("HTTP/1.1 101 Switching Protocols\r\n");
            byte[] echoed = new byte[early.length()];
            int read = 0;
            try {
                for (int n; read < echoed.length && (n = in.read(echoed, read, echoed.length - read)) > 0; ) {
                    read += n;
                }
            } catch (java.net.SocketTimeoutException ex) {
                // Fewer bytes came back than were sent: compared below.
            }
            assertThat(new String(echoed, 0, read, StandardCharsets.ISO_8859_1)).as("echoed by the worker").isEqualTo(early);
        }
    }

    /**
     * A client connection that posted keeps the worker connections its bodies went on for itself; once it switches
     * protocols no request follows, so they close then, not when their idle timeout (60 s here) ends.
     */
    @Test
    void theWorkerConnectionsReservedForAClientCloseWhenItSwitchesProtocols() throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(5_000);
            InputStream in = socket.getInputStream();
            // Bodies to both workers, round-robin: the upgrade takes one of the two reserved connections, the
            // other stays idle.
            java.util.Set<String> pids = new java.util.HashSet<>();
            for (int i = 0; i < 10 && pids.size() < 2; i++) {
                socket.getOutputStream().write(("POST /marked" + i + " HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n"
                        + "body").getBytes(StandardCharsets.ISO_8859_1));
                String head = readHead(in);
                assertThat(head).startsWith("HTTP/1.1 200 OK\r\n");
                int length = Integer.parseInt(head.replaceAll("(?is).*content-length: *(\\d+).*", "$1"));
                String body = new String(in.readNBytes(length), StandardCharsets.US_ASCII);
                pids.add(body.substring(body.lastIndexOf(' ') + 1));
            }
            assertThat(pids).hasSize(2);

            socket.getOutputStream().write("GET /raw HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo-bytes\r\n\r\n"
                    .getBytes(StandardCharsets.ISO_8859_1));
            assertThat(readHead(in)).startsWith("HTTP/1.1 101 Switching Protocols\r\n");
            socket.getOutputStream().write("echo".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(new String(in.readNBytes(4), StandardCharsets.ISO_8859_1)).isEqualTo("echo");

            // The tunnel is still open: only the reserved connection it did not take has closed.
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(record).matches("(?s).*/marked\\d+ closed.*"));
            assertThat(Files.readString(record).split("/marked\\d+ closed", -1)).hasSize(2);
        }
    }

    @Test
    void protocolsThatAreNotAllowedNeverReachTheWorker() {
        for (String offered : new String[] {"h2c", "H2C", "tls/1.0", "other"}) {
            RawClient.Received received = RawClient.exchange(shepherd.proxyPort(), "GET /plain HTTP/1.1\r\nHost: a\r\n"
                    + "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: " + offered + "\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
                    + "Connection: close\r\n\r\n", 5_000);
            assertThat(received.bytes()).as(offered).startsWith("HTTP/1.1 200 OK").contains("plain - ");
        }
        RawClient.Received http10 = RawClient.exchange(shepherd.proxyPort(),
                "GET /plain HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 5_000);
        assertThat(http10.bytes()).startsWith("HTTP/1.1 200 OK").contains("plain - ");
    }

    @Test
    void aWorkerThatSwitchesToAProtocolNobodyOfferedIsABadGateway() {
        RawClient.Received received = RawClient.exchange(shepherd.proxyPort(), "GET /rogue HTTP/1.1\r\nHost: a\r\n"
                + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
                10_000);
        assertThat(received.bytes()).startsWith("HTTP/1.1 502 Bad Gateway").contains("did not offer (h2c)");
    }

    /**
     * A {@code 101} to WebSocket whose {@code Sec-WebSocket-Accept} answers no key is no handshake: an endpoint that
     * lets a client choose its status would otherwise open a raw tunnel to the worker past the proxy's checks.
     */
    @Test
    void aWebSocket101WithoutTheAcceptThatAnswersTheKeyIsABadGateway() {
        RawClient.Received received = RawClient.exchange(shepherd.proxyPort(), "GET /forged HTTP/1.1\r\nHost: a\r\n"
                + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 10_000);
        assertThat(received.bytes()).startsWith("HTTP/1.1 502 Bad Gateway").contains("Sec-WebSocket-Accept")
                .doesNotContain("raw");
        // No handshake without exactly one key (RFC 6455 §4.1): refused before any worker sees it (a worker's 101
        // to it was a 502 counted against the worker, which any client could make a healthy worker earn).
        long forwardedBefore = forwarded();
        for (String keys : new String[] {"", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: "
                + "AAAAAAAAAAAAAAAAAAAAAA==\r\n"}) {
            RawClient.Received keyless = RawClient.exchange(shepherd.proxyPort(), "GET /forged HTTP/1.1\r\nHost: a\r\n"
                    + "Connection: Upgrade\r\nUpgrade: websocket\r\n" + keys + "\r\n", 10_000);
            assertThat(keyless.bytes()).as("a client that leaves the key out or sends two")
                    .startsWith("HTTP/1.1 400 Bad Request").contains("exactly one Sec-WebSocket-Key").doesNotContain("raw");
        }
        for (String key : new String[] {"", "x", "dGhlIHNhbXBsZSBub25jZQ==, AAAAAAAAAAAAAAAAAAAAAA=="}) {
            RawClient.Received malformed = RawClient.exchange(shepherd.proxyPort(), "GET /forged HTTP/1.1\r\nHost: a\r\n"
                    + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: " + key + "\r\n\r\n", 10_000);
            assertThat(malformed.bytes()).as("a key that is not 16 bytes in base64: '%s'", key)
                    .startsWith("HTTP/1.1 400 Bad Request").contains("16 bytes in base64").doesNotContain("raw");
        }
        assertThat(forwarded()).as("requests that reached a worker").isEqualTo(forwardedBefore);

        // The draft handshake's keys, whose 8-byte body Netty reads though no header announces it: refused, and what
        // came behind it (which a balancer in front would take for the next request) reaches no worker either.
        RawClient.Received draft = RawClient.exchange(shepherd.proxyPort(), "GET /plain HTTP/1.1\r\nHost: a\r\n"
                + "Connection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
                + "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", 10_000);
        assertThat(draft.bytes()).startsWith("HTTP/1.1 400 Bad Request").contains("hixie-76")
                .doesNotContainPattern("plain (-|\\S+) \\d+").doesNotContain("smuggled");
        assertThat(forwarded()).as("requests that reached a worker").isEqualTo(forwardedBefore);
    }

    /** Requests the workers were given, all together. */
    private static long forwarded() {
        return shepherd.snapshot().workers().stream().mapToLong(dev.shepherd.fleet.WorkerSnapshot::requests).sum();
    }

    @Test
    void anAllowedProtocolOtherThanWebSocketIsRelayedAndAHalfCloseIsPassedOn() throws Exception {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write("GET /raw HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo-bytes\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            String head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 101 Switching Protocols\r\n").contains("connection: upgrade\r\n")
                    .contains("upgrade: echo-bytes\r\n");
            socket.getOutputStream().write("abc".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(in.readNBytes(3), StandardCharsets.US_ASCII)).isEqualTo("abc");
            socket.shutdownOutput();
            RawClient.Received rest = RawClient.read(in);
            assertThat(rest.bytes()).isEqualTo("bye");
            assertThat(rest.end()).isEqualTo(RawClient.End.FIN);
        }
    }

    @Test
    void killingAWorkerClosesItsTunnelsAtOnce() throws Exception {
        Client client = Client.open(shepherd.proxyPort());
        long pid = Long.parseLong(client.whoami().substring("pid=".length()));
        long killedAt = System.nanoTime();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        assertThat(client.awaitClosed(Duration.ofSeconds(5))).isNotNull();
        assertThat(Duration.ofNanos(System.nanoTime() - killedAt)).isLessThan(Duration.ofSeconds(2));
        shepherd.awaitReady(2);
    }

    @Test
    void aDrainingWorkerSaysGoingAwayToEachTunnelWithinTheDrainWindowBeforeItStops() throws Exception {
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            clients.add(Client.open(shepherd.proxyPort()));
        }
        List<String> pids = new ArrayList<>();
        for (Client client : clients) {
            pids.add(client.whoami().substring("pid=".length()));
        }
        long reloadAt = System.nanoTime();
        assertThat(shepherd.admin("POST", "/fleet/reload", null).statusCode()).isEqualTo(202);
        for (Client client : clients) {
            assertThat(client.awaitClosed(Duration.ofSeconds(30))).isEqualTo("close:1001");
        }
        // Every tunnel got to its worker's end as a close frame: the worker was still running when it ended.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            String closes = Files.readString(record);
            for (String pid : pids) {
                assertThat(closes).contains(pid + " closed 1001");
            }
        });
        assertThat(Duration.ofNanos(System.nanoTime() - reloadAt)).isLessThan(Duration.ofSeconds(30));
        shepherd.awaitReady(2);
        await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.readyPids().stream().map(String::valueOf)
                .noneMatch(pids::contains));
    }

    static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /** A JDK WebSocket client through the proxy, whose events ("text:…", "binary:N", "pong:…", "close:N") queue up. */
    static final class Client implements WebSocket.Listener {
        private final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        private final StringBuilder text = new StringBuilder();
        private final CompletableFuture<String> closed = new CompletableFuture<>();
        WebSocket socket;

        static Client open(int port) {
            return open(HTTP, URI.create("ws://127.0.0.1:" + port + "/ws"));
        }

        static Client open(HttpClient http, URI uri) {
            Client client = new Client();
            client.socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                    .buildAsync(uri, client).orTimeout(10, TimeUnit.SECONDS).join();
            return client;
        }

        String next() throws InterruptedException {
            String event = events.poll(10, TimeUnit.SECONDS);
            assertThat(event).as("an event within 10 s").isNotNull();
            return event;
        }

        String whoami() throws InterruptedException {
            socket.sendText("whoami", true).join();
            return next().substring("text:".length());
        }

        /** How the tunnel ended ("close:N" or "error:…"), waiting at most {@code wait}; null if it did not. */
        String awaitClosed(Duration wait) {
            try {
                return closed.get(wait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception ex) {
                return null;
            }
        }

        void close() {
            socket.abort();
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                events.add("text:" + text);
                text.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            events.add("binary:" + data.remaining());
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
            events.add("pong:" + StandardCharsets.UTF_8.decode(message));
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete("close:" + statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.complete("error:" + error);
        }
    }
}
