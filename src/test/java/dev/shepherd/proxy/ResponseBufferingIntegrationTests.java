package dev.shepherd.proxy;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that reads its response slower than the worker sends it holds a file of the proxy's, not the worker
 * (nginx's {@code proxy_buffering}): a single-threaded worker whose large answer a client read a few kilobytes at a
 * time stayed in {@code write()}, answered nobody else, failed its liveness probe and was killed (found by an
 * attacking helper). What the client gets is unchanged: every byte, in order, framed as before.
 */
class ResponseBufferingIntegrationTests {

    /** 24 MiB, past what the sockets between the worker and the client can hold. */
    private static final int BIG = 24 << 20;

    /**
     * One request at a time, a connection each (HTTP/1.0): a gunicorn sync worker's shape. {@code /big} has a
     * {@code Content-Length}; {@code /unframed} ends with the connection, so an HTTP/1.1 client gets it chunked by
     * the proxy; {@code /short} says {@code Content-Length} as {@code /big} and closes after half of it. Byte i of
     * each is i mod 251.
     */
    static final String SINGLE_THREADED_WORKER = """
            import os
            from http.server import HTTPServer, BaseHTTPRequestHandler

            SIZE = SIZE_VALUE
            BIG = (bytes(range(251)) * (SIZE // 251 + 1))[:SIZE]

            class Handler(BaseHTTPRequestHandler):
                def do_GET(self):
                    body = BIG if self.path in ("/big", "/unframed", "/short") else b"small"
                    self.send_response(200)
                    if self.path != "/unframed":
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[:len(body) // 2] if self.path == "/short" else body)

                def log_message(self, *args):
                    pass

            HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """.replace("SIZE_VALUE", Integer.toString(BIG));

    @TempDir
    Path temp;

    @Test
    void aClientReadingSlowlyHoldsAFileNotTheWorkerAndGetsEveryByte() throws Exception {
        Path spool = Files.createDirectory(temp.resolve("spool"));
        try (RunningShepherd shepherd = start("--fleet.proxy.response-temp-path=" + spool);
             Socket slow = slowClient(shepherd)) {
            send(slow, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
            InputStream in = slow.getInputStream();
            String head = RawHttp.readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200").contains("Content-Length: " + BIG);

            // The worker has sent its 24 MiB into the proxy's file: it answers the next request at once.
            HttpResponse<String> small = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/small"))
                    .timeout(Duration.ofSeconds(10)).build());
            assertThat(small.body()).isEqualTo("small");
            assertThat(metric(shepherd, "shepherd_proxy_responses_spooled_total")).isEqualTo(1.0);

            assertPattern(in.readNBytes(BIG), BIG);
            // The same connection goes on once the file has given everything.
            send(slow, "GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
            assertThat(RawHttp.readResponse(in)).endsWith("\r\n\r\nsmall");
            assertThat(shepherd.snapshot().workers()).extracting(WorkerSnapshot::restarts).containsOnly(0);
            try (var files = Files.list(spool)) {
                assertThat(files).as("unlinked when opened, as nginx's temp files").isEmpty();
            }
        }
    }

    /** A body the proxy chunks (the worker's ends with its connection) goes through the file with its chunks. */
    @Test
    void aBodyTheProxyChunksKeepsItsChunksThroughTheFile() throws Exception {
        try (RunningShepherd shepherd = start();
             Socket slow = slowClient(shepherd)) {
            send(slow, "GET /unframed HTTP/1.1\r\nHost: t\r\n\r\n");
            InputStream in = slow.getInputStream();
            String head = RawHttp.readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200");
            assertThat(RawHttp.header(head, "Transfer-Encoding")).isEqualTo("chunked");
            assertThat(shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/small")).timeout(Duration.ofSeconds(10))
                    .build()).body()).isEqualTo("small");

            assertPattern(dechunk(in), BIG);
        }
    }

    /**
     * Past {@code response-temp-max-size}, or {@code response-temp-file-max-size} for its one file, the worker waits
     * for its client again, as with buffering off: the client still gets every byte, and the bytes held are given back.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"--fleet.proxy.response-temp-max-size=1MB",
            "--fleet.proxy.response-temp-file-max-size=1MB"})
    void pastTheSpoolsBoundTheWorkerWaitsAndTheClientStillGetsEveryByte(String bound) throws Exception {
        try (RunningShepherd shepherd = start(bound);
             Socket slow = slowClient(shepherd)) {
            send(slow, "GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            InputStream in = slow.getInputStream();
            String head = RawHttp.readHead(in);
            assertThat(head).startsWith("HTTP/1.1 200");
            // 1 MB kept, the sockets' few MB full: the worker has not sent its 24 MiB, and waits.
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5))
                    .until(() -> shepherd.snapshot().inFlight() == 1);

            assertPattern(in.readNBytes(BIG), BIG);
            assertThat(in.read()).as("closed after the response").isEqualTo(-1);
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            assertThat(proxy.responseSpool().bytes()).isZero();
        }
    }

    /**
     * A worker that fails mid-response, while part of it waits in the file for a slow client: the client gets every
     * byte the worker sent, and then the cut (the connection closes short of the length). The file was dropped with
     * the cut, and a re-attacking helper's client got 1.6-4.3 of the 10 MB its worker sent.
     */
    @Test
    void aResponseCutWhilePartOfItWaitsInTheFileGivesTheClientThatPartFirst() throws Exception {
        try (RunningShepherd shepherd = start();
             Socket slow = slowClient(shepherd)) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            send(slow, "GET /short HTTP/1.1\r\nHost: t\r\n\r\n");
            InputStream in = slow.getInputStream();
            assertThat(RawHttp.readHead(in)).startsWith("HTTP/1.1 200").containsIgnoringCase("content-length: " + BIG);
            await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().inFlight() == 0);
            assertThat(proxy.responseSpool().bytes()).as("part of it waits in the file").isPositive();

            ByteArrayOutputStream received = new ByteArrayOutputStream();
            byte[] buffer = new byte[65536];
            try {
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    received.write(buffer, 0, n);
                }
            } catch (java.net.SocketException reset) {
                throw new AssertionError("reset after " + received.size() + " bytes", reset);
            }
            assertPattern(received.toByteArray(), BIG / 2);
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.responseSpool().bytes() == 0);
            assertThat(shepherd.get("/small").body()).isEqualTo("small");
        }
    }

    /**
     * A client that leaves while part of its response waits in the file, or that reads nothing for
     * {@code client-send-timeout} and is closed then: the file goes, its bytes are given back.
     */
    @Test
    void aClientThatLeavesOrStopsReadingGivesItsFileBack() throws Exception {
        // Long enough for the worker to have sent all on a loaded host before the client is closed for reading nothing.
        try (RunningShepherd shepherd = start("--fleet.proxy.client-send-timeout=3s")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            try (Socket slow = slowClient(shepherd)) {
                send(slow, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
                assertThat(RawHttp.readHead(slow.getInputStream())).startsWith("HTTP/1.1 200");
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.responseSpool().bytes() > 0);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.responseSpool().bytes() == 0);

            try (Socket stalled = slowClient(shepherd)) {
                long start = System.nanoTime();
                send(stalled, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
                InputStream in = stalled.getInputStream();
                assertThat(RawHttp.readHead(in)).startsWith("HTTP/1.1 200");
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.responseSpool().bytes() > 0);
                // Free once it has sent all, while the client still reads nothing.
                await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 0);
                assertThat(proxy.responseSpool().bytes()).isPositive();

                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.responseSpool().bytes() == 0);
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofSeconds(3));
                long read = 0;
                try {
                    for (int n = in.read(new byte[65536]); n >= 0; n = in.read(new byte[65536])) {
                        read += n;
                    }
                } catch (java.net.SocketException reset) {
                    // A close with unread data may come as a reset: the response is cut either way.
                }
                assertThat(read).as("bytes the client got before the close").isLessThan(BIG);
            }
            assertThat(shepherd.get("/small").body()).isEqualTo("small");
        }
    }

    private RunningShepherd start(String... more) throws IOException {
        Path script = Files.writeString(temp.resolve("worker.py"), SINGLE_THREADED_WORKER);
        String[] args = new String[more.length + 2];
        args[0] = "--fleet.workers=1";
        args[1] = "--fleet.worker.command=python3," + script;
        System.arraycopy(more, 0, args, 2, more.length);
        return RunningShepherd.startReady(args);
    }

    /** A client connection with a small receive buffer, which reads nothing until told to. */
    private static Socket slowClient(RunningShepherd shepherd) throws IOException {
        Socket socket = new Socket();
        socket.setReceiveBufferSize(4096);
        socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
        socket.setSoTimeout(30_000);
        return socket;
    }

    private static void send(Socket socket, String request) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(request.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static void assertPattern(byte[] body, int length) {
        assertThat(body).hasSize(length);
        for (int i = 0; i < length; i++) {
            if (body[i] != (byte) (i % 251)) {
                throw new AssertionError("byte " + i + " is " + (body[i] & 0xFF) + ", not " + i % 251);
            }
        }
    }

    /** A chunked body up to its last chunk (RFC 9112 §7.1), without extensions or trailers. */
    private static byte[] dechunk(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String size = line(in);
            int length = Integer.parseInt(size, 16);
            if (length == 0) {
                assertThat(line(in)).as("no trailers").isEmpty();
                return body.toByteArray();
            }
            body.write(in.readNBytes(length));
            assertThat(line(in)).isEmpty();
        }
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int next = in.read(); next != '\n'; next = in.read()) {
            if (next < 0) {
                throw new IOException("the stream ended in a chunk's line: " + line);
            }
            if (next != '\r') {
                line.append((char) next);
            }
        }
        return line.toString();
    }

    private static double metric(RunningShepherd shepherd, String name) {
        String body = shepherd.admin("GET", "/actuator/prometheus", null).body();
        return body.lines().filter(line -> line.startsWith(name + " ")).mapToDouble(line ->
                Double.parseDouble(line.substring(name.length() + 1))).findFirst().orElse(-1);
    }
}
