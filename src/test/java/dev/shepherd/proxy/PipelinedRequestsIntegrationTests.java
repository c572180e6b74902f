package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Requests a client pipelines on one connection reach the worker one at a time: the proxy leaves the next one
 * undecoded, and stops reading the connection, until the exchange before it is done ({@code ClientHandler.exchangeDone},
 * {@code RequestDecoder}'s pause). Seen from the worker, which records what reaches it and when it answers, and can
 * hold an answer half sent until the test releases it; seen from the client, which gets every answer in order, byte
 * for byte. A request behind one that failed goes on when the proxy answered the failure itself on a connection it
 * keeps (a 502), and never reaches the worker when the connection ends with the failure (a refusal, a cut response).
 */
class PipelinedRequestsIntegrationTests {

    private static final Duration STEP = Duration.ofSeconds(10);

    /**
     * A threaded worker (a request on a second connection would be served at once, beside the first) that logs, in
     * order, {@code arrive PATH} when a request's body is read and {@code answer PATH} right before it writes the last
     * bytes of its answer, and counts the most requests it had in progress at once. Requests to the worker itself,
     * not through the proxy: {@code /log} (the most, then the events, a line each), {@code /clear},
     * {@code /release?key=K}. Through the proxy:
     * <ul>
     *   <li>{@code /hold?key=K&bytes=N}: the head and the first half of N bytes, then the rest once K is released</li>
     *   <li>{@code /missing}: 404 "no such page"</li>
     *   <li>{@code /close-unanswered}: the connection closed, with no answer</li>
     *   <li>{@code /cut}: a head saying 1000 bytes, 10 of them, then the connection closed</li>
     *   <li>anything else: 200 "served PATH LENGTH CRC32" of the request's body</li>
     * </ul>
     * Byte i of a held body is i mod 251.
     */
    private static final String WORKER = """
            import os, threading, zlib
            from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

            lock = threading.Lock()
            events = []
            state = {"in_flight": 0, "most": 0}
            releases = {}

            def release(key):
                with lock:
                    return releases.setdefault(key, threading.Event())

            def head(status, length):
                return b"HTTP/1.1 %s\\r\\nContent-Length: %d\\r\\n\\r\\n" % (status, length)

            class Handler(BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"

                def log_message(self, *args):
                    pass

                def do_GET(self):
                    self.serve()

                def do_POST(self):
                    self.serve()

                def answer(self, data):
                    with lock:
                        events.append("answer " + self.path)
                        state["in_flight"] -= 1
                    self.wfile.write(data)
                    self.wfile.flush()

                def reply(self, body):
                    self.wfile.write(head(b"200 OK", len(body)) + body)
                    self.wfile.flush()

                def serve(self):
                    path = self.path
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    if path == "/health":
                        return self.reply(b"ok")
                    if path == "/log":
                        with lock:
                            return self.reply("\\n".join(["%d" % state["most"]] + events).encode())
                    if path == "/clear":
                        with lock:
                            events.clear()
                            state["most"] = 0
                            releases.clear()
                        return self.reply(b"cleared")
                    if path.startswith("/release?key="):
                        release(path[len("/release?key="):]).set()
                        return self.reply(b"released")
                    with lock:
                        events.append("arrive " + path)
                        state["in_flight"] += 1
                        state["most"] = max(state["most"], state["in_flight"])
                    if path.startswith("/hold?key="):
                        key, size = path[len("/hold?key="):].split("&bytes=")
                        whole = (bytes(range(251)) * (int(size) // 251 + 1))[:int(size)]
                        self.wfile.write(head(b"200 OK", len(whole)) + whole[:len(whole) // 2])
                        self.wfile.flush()
                        release(key).wait(30)
                        self.answer(whole[len(whole) // 2:])
                    elif path == "/missing":
                        self.answer(head(b"404 Not Found", 12) + b"no such page")
                    elif path == "/close-unanswered":
                        self.answer(b"")
                        self.close_connection = True
                    elif path == "/cut":
                        self.answer(head(b"200 OK", 1000) + b"x" * 10)
                        self.close_connection = True
                    else:
                        served = ("served %s %d %d" % (path, len(body), zlib.crc32(body))).encode()
                        self.answer(head(b"200 OK", len(served)) + served)

            server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
            server.daemon_threads = True
            server.serve_forever()
            """;

    @TempDir
    static Path temp;

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() throws IOException {
        Path script = Files.writeString(temp.resolve("worker.py"), WORKER);
        shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.worker.command=python3," + script);
    }

    @AfterAll
    static void stop() {
        if (shepherd != null) {
            shepherd.close();
        }
    }

    @BeforeEach
    void clearTheWorkersLog() {
        toWorker("/clear");
    }

    /**
     * Three requests in one write, the first held at the worker with half its answer sent: the two behind it do not
     * reach the worker until the first's last bytes are sent, and the worker never has two at once. The client gets
     * the three answers in order, exactly as the worker wrote them, the worker's own 404 included.
     */
    @Test
    void aPipelinedRequestReachesTheWorkerOnlyOnceTheAnswerBeforeItIsComplete() throws IOException {
        int held = 300_000;
        String hold = "/hold?key=order&bytes=" + held;
        try (Socket client = connect()) {
            send(client, get(hold) + get("/missing") + get("/plain?n=3"));
            InputStream in = client.getInputStream();
            await().atMost(STEP).until(() -> events().contains("arrive " + hold));
            // Half of the first answer is sent; the rest waits for the release.
            await().during(Duration.ofMillis(700)).atMost(STEP).untilAsserted(() -> assertThat(events())
                    .as("what reached the worker while the first answer is held").containsExactly("arrive " + hold));
            assertThat(RawHttp.readHead(in)).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: " + held + "\r\n\r\n");
            byte[] firstHalf = in.readNBytes(held / 2);
            assertThat(events()).as("once the client has that half").containsExactly("arrive " + hold);

            toWorker("/release?key=order");
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(firstHalf);
            body.write(in.readNBytes(held - held / 2));
            assertThat(body.toByteArray()).isEqualTo(pattern(held));
            assertThat(readResponse(in)).isEqualTo("HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\nno such page");
            assertThat(readResponse(in)).isEqualTo(served("/plain?n=3", new byte[0]));
        }
        assertThat(events()).containsExactly("arrive " + hold, "answer " + hold, "arrive /missing", "answer /missing",
                "arrive /plain?n=3", "answer /plain?n=3");
        assertThat(mostAtOnce()).as("requests the worker had in progress at once").isEqualTo(1);
    }

    /**
     * The worker closes the connection of a POST without answering: the proxy answers 502 itself (a POST is not
     * retried) on a connection it keeps open, and the request pipelined behind the POST is served after it, in order,
     * as is one sent later on the same connection.
     */
    @Test
    void aRequestBehindOneTheProxyAnswered502IsServedAfterItOnTheSameConnection() throws IOException {
        try (Socket client = connect()) {
            send(client, "POST /close-unanswered HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" + get("/plain?n=2"));
            InputStream in = client.getInputStream();
            String failed = readResponse(in);
            assertThat(failed).startsWith("HTTP/1.1 502 ").contains("not retried because POST is not idempotent");
            assertThat(RawHttp.header(failed, "Connection")).as("the connection is kept").isNull();
            assertThat(readResponse(in)).isEqualTo(served("/plain?n=2", new byte[0]));

            send(client, get("/plain?n=3"));
            assertThat(readResponse(in)).isEqualTo(served("/plain?n=3", new byte[0]));
        }
        assertThat(events()).containsExactly("arrive /close-unanswered", "answer /close-unanswered",
                "arrive /plain?n=2", "answer /plain?n=2", "arrive /plain?n=3", "answer /plain?n=3");
        assertThat(mostAtOnce()).isEqualTo(1);
    }

    /**
     * A pipelined request the proxy refuses (TRACE, 405) closes the connection once the answers before it are
     * written: the request behind it is dropped undecoded and never reaches the worker.
     */
    @Test
    void aRequestBehindOneTheProxyRefusedNeverReachesTheWorker() throws IOException {
        try (Socket client = connect()) {
            send(client, get("/plain?n=1") + "TRACE / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/plain?n=3"));
            RawClient.Received received = RawClient.read(client.getInputStream());

            String first = served("/plain?n=1", new byte[0]);
            assertThat(received.bytes()).startsWith(first);
            String refusal = received.bytes().substring(first.length());
            assertThat(refusal).startsWith("HTTP/1.1 405 ").contains("TRACE is not forwarded");
            assertThat(RawHttp.header(refusal, "Connection")).isEqualTo("close");
            assertThat(refusal.indexOf("HTTP/1.1", 1)).as("no third answer").isEqualTo(-1);
            assertThat(received.end()).isEqualTo(RawClient.End.FIN);
        }
        assertThat(events()).containsExactly("arrive /plain?n=1", "answer /plain?n=1");
    }

    /**
     * The worker fails after its answer started (a close 10 bytes into 1000): the client's answer is cut and its
     * connection ends, and the request pipelined behind it never reaches the worker.
     */
    @Test
    void aRequestBehindACutResponseNeverReachesTheWorker() throws IOException {
        try (Socket client = connect()) {
            send(client, get("/cut") + get("/plain?n=2"));
            RawClient.Received received = RawClient.read(client.getInputStream());

            assertThat(received.end()).as("the connection ends with the cut").isNotEqualTo(RawClient.End.OPEN);
            assertThat(received.head()).startsWith("HTTP/1.1 200 OK\r\n").contains("Content-Length: 1000\r\n");
            assertThat(received.body()).as("what the worker sent, and nothing after it").isEqualTo("x".repeat(10));
        }
        assertThat(events()).containsExactly("arrive /cut", "answer /cut");
    }

    /**
     * Megabytes of requests pipelined behind one the worker holds are not read by the proxy meanwhile: the client's
     * writes stall after what the sockets' buffers take, far short of all it sent, and nothing of it reaches the
     * worker. Once the first is answered, every request is served in order, its body intact.
     */
    @Test
    void requestsPipelinedBehindAHeldOneAreNotReadUntilItIsAnswered() throws Exception {
        int requests = 24;
        int bodySize = 1 << 20;
        String hold = "/hold?key=bound&bytes=100";
        try (Socket client = new Socket()) {
            client.setSendBufferSize(64 * 1024);
            client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
            client.setSoTimeout(20_000);
            AtomicLong written = new AtomicLong();
            long total = pipelineBytes(requests, bodySize, hold);
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> writePipeline(client, requests,
                    bodySize, hold, written));
            await().atMost(STEP).until(() -> events().contains("arrive " + hold));

            long[] last = {-1};
            await().pollInterval(Duration.ofMillis(300)).atMost(STEP).until(() -> {
                long now = written.get();
                boolean stalled = now == last[0];
                last[0] = now;
                return stalled;
            });
            // 0.26 MB measured; the proxy reading on would have taken all 25 MB.
            assertThat(written.get()).as("bytes the client could write of %d while the first request is held", total)
                    .isLessThan(4 << 20);
            assertThat(events()).containsExactly("arrive " + hold);

            toWorker("/release?key=bound");
            InputStream in = client.getInputStream();
            assertThat(readResponse(in)).endsWith("\r\n\r\n" + new String(pattern(100), StandardCharsets.ISO_8859_1));
            for (int i = 0; i < requests; i++) {
                assertThat(readResponse(in)).as("answer %d", i).isEqualTo(served("/plain?n=" + i, body(i, bodySize)));
            }
            writing.get(STEP.toSeconds(), TimeUnit.SECONDS);
            assertThat(written.get()).isEqualTo(total);
        }
        assertThat(mostAtOnce()).isEqualTo(1);
    }

    private static long pipelineBytes(int requests, int bodySize, String hold) {
        long total = get(hold).length();
        for (int i = 0; i < requests; i++) {
            total += post(i, bodySize).length() + bodySize;
        }
        return total;
    }

    /** The held request, then {@code requests} POSTs of {@code bodySize} bytes, counting what the socket took. */
    private static void writePipeline(Socket client, int requests, int bodySize, String hold, AtomicLong written) {
        try {
            OutputStream out = client.getOutputStream();
            byte[] first = get(hold).getBytes(StandardCharsets.ISO_8859_1);
            out.write(first);
            written.addAndGet(first.length);
            for (int i = 0; i < requests; i++) {
                byte[] head = post(i, bodySize).getBytes(StandardCharsets.ISO_8859_1);
                out.write(head);
                written.addAndGet(head.length);
                byte[] body = body(i, bodySize);
                for (int from = 0; from < body.length; from += 16 * 1024) {
                    out.write(body, from, 16 * 1024);
                    written.addAndGet(16 * 1024);
                }
            }
            out.flush();
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String post(int i, int bodySize) {
        return "POST /plain?n=" + i + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + bodySize + "\r\n\r\n";
    }

    /** Request {@code i}'s body: byte j is (i + j) mod 251, so that each body is told apart by its CRC. */
    private static byte[] body(int i, int size) {
        byte[] body = new byte[size];
        for (int j = 0; j < size; j++) {
            body[j] = (byte) ((i + j) % 251);
        }
        return body;
    }

    private static byte[] pattern(int size) {
        return body(0, size);
    }

    /** The worker's answer to a request it serves: {@code served PATH LENGTH CRC32} of the body. */
    private static String served(String path, byte[] body) {
        CRC32 crc = new CRC32();
        crc.update(body);
        String text = "served " + path + " " + body.length + " " + crc.getValue();
        return "HTTP/1.1 200 OK\r\nContent-Length: " + text.length() + "\r\n\r\n" + text;
    }

    private static String get(String path) {
        return "GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n";
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort());
        socket.setSoTimeout(20_000);
        return socket;
    }

    private static void send(Socket socket, String requests) throws IOException {
        socket.getOutputStream().write(requests.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    private static String readResponse(InputStream in) throws IOException {
        String response = RawHttp.readResponse(in);
        assertThat(response).as("a whole head before the connection ended").contains("\r\n\r\n");
        return response;
    }

    /** A request to the worker itself, past the proxy; returns the body. */
    private static String toWorker(String path) {
        String response = RawHttp.exchange(shepherd.snapshot().workers().get(0).port(),
                "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        assertThat(response).startsWith("HTTP/1.1 200");
        return response.substring(response.indexOf("\r\n\r\n") + 4);
    }

    /** What the worker logged since the last clear: arrivals and answers, in order. */
    private static List<String> events() {
        List<String> lines = new ArrayList<>(List.of(toWorker("/log").split("\n")));
        lines.remove(0);
        return lines;
    }

    private static int mostAtOnce() {
        return Integer.parseInt(toWorker("/log").split("\n")[0]);
    }
}
