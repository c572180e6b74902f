package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RecordingWorker;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Requests an attacker would send, through a real master to a worker that parses strictly and answers with the
 * bytes it received ({@link RecordingWorker}): nothing reaches the worker in another form than the proxy parsed,
 * and every request on the pooled worker connection gets its own answer. One worker, so every request shares its
 * pooled connections.
 */
class RequestSmugglingIntegrationTests {

    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

    private static RunningShepherd shepherd;
    private static Path record;

    @BeforeAll
    static void start() throws IOException {
        record = Files.createTempFile("shepherd-recorded", ".txt");
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(RecordingWorker.class)),
                "--fleet.worker.environment.RECORD_FILE=" + record);
    }

    @AfterAll
    static void stop() throws IOException {
        shepherd.close();
        Files.deleteIfExists(record);
    }

    @BeforeEach
    void clearRecord() throws IOException {
        Files.writeString(record, "");
    }

    @Test
    void contentLengthNamedInConnectionIsRefusedAndItsBodyNeverReachesAWorker() throws IOException {
        String response = RawHttp.exchange(shepherd.proxyPort(), "POST /x HTTP/1.1\r\nHost: t\r\n"
                + "Connection: keep-alive, Content-Length\r\nContent-Length: " + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED);

        assertThat(RawHttp.status(response)).isEqualTo(400);
        assertThat(response).contains("Connection must not name Content-Length").contains("connection: close");
        assertThat(echo("GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).startsWith("GET /next HTTP/1.1\r\n");
        assertThat(recorded()).containsExactly("GET /next HTTP/1.1");
    }

    /** Neither reaches a worker: a reverse proxy opens no tunnels, and a TRACE would echo the client's cookies. */
    @Test
    void connectAndTraceAreRefusedWith405() throws IOException {
        assertThat(RawHttp.exchange(shepherd.proxyPort(), "CONNECT t:443 HTTP/1.1\r\nHost: t:443\r\n\r\n"))
                .startsWith("HTTP/1.1 405 ").contains("CONNECT is not supported");
        assertThat(RawHttp.exchange(shepherd.proxyPort(), "TRACE / HTTP/1.1\r\nHost: t\r\nCookie: s=1\r\n\r\n"))
                .startsWith("HTTP/1.1 405 ").contains("TRACE is not forwarded").doesNotContain("s=1");
        assertThat(recorded()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Content-Length", "content-length", "close, CONTENT-LENGTH", "keep-alive,Content-Length,x",
            "Transfer-Encoding", "Host", "keep-alive\r\nConnection: Content-Length"})
    void everySpellingOfAFramingHeaderInConnectionIsRefused(String connection) throws IOException {
        boolean chunked = connection.equalsIgnoreCase("Transfer-Encoding");
        String framing = chunked ? "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(SMUGGLED.length()) + "\r\n"
                + SMUGGLED + "\r\n0\r\n\r\n" : "Content-Length: " + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED;

        String response = RawHttp.exchange(shepherd.proxyPort(), "POST /x HTTP/1.1\r\nHost: t\r\nConnection: "
                + connection + "\r\n" + framing);

        assertThat(RawHttp.status(response)).isEqualTo(400);
        assertThat(recorded()).isEmpty();
    }

    @Test
    void bodyThatIsItselfARequestReachesTheWorkerAsTheBodyOfOneRequest() throws IOException {
        try (Socket socket = connect()) {
            send(socket, "POST /x HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nContent-Length: "
                    + SMUGGLED.length() + "\r\n\r\n" + SMUGGLED);
            String first = body(readResponse(socket));
            send(socket, "GET /after HTTP/1.1\r\nHost: t\r\n\r\n");
            String second = body(readResponse(socket));

            assertThat(first).startsWith("POST /x HTTP/1.1\r\n").contains("\r\ncontent-length: " + SMUGGLED.length() + "\r\n")
                    .doesNotContainIgnoringCase("x-hop").endsWith("\r\n\r\n" + SMUGGLED);
            assertThat(second).startsWith("GET /after HTTP/1.1\r\n");
        }
        assertThat(echo("GET /new-connection HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
                .startsWith("GET /new-connection HTTP/1.1\r\n");
        assertThat(recorded()).containsExactly("POST /x HTTP/1.1", "GET /after HTTP/1.1", "GET /new-connection HTTP/1.1");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "GET /case HTTP/1.1\\r\\nHost: t\\r\\nHost: evil.example                     | 400",
            "GET /case\\0b HTTP/1.1\\r\\nHost: t                                          | 400",
            "GET /case HTTP/1.1\\r\\nAccept: */*                                          | 400",
            "GET /case HTTP/2.0\\r\\nHost: t                                              | 505",
            "GET /case HTTP/9.9\\r\\nHost: t                                              | 505",
            "GET case HTTP/1.1\\r\\nHost: t                                               | 400",
            "GET /case/../../etc/passwd HTTP/1.1\\r\\nHost: t                              | 400",
            "GET /case\u00c3\u00a9 HTTP/1.1\\r\\nHost: t                                 | 400",
            "POST /case HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: gzip, chunked        | 501",
            "GET /case HTTP/1.1\\r\\nHost: t\\r\\nX-Folded: a\\r\\n b                     | 400",
            "POST /case HTTP/1.1\\r\\nHost: t\\r\\nContent-Length: 1\\r\\nTransfer-Encoding: chunked | 400",
    })
    void requestsHttpSaysToRefuseNeverReachAWorker(String head, int status) throws IOException {
        String response = RawHttp.exchange(shepherd.proxyPort(), head.replace("\\r\\n", "\r\n").replace("\\0", "\0")
                + "\r\n\r\n0\r\n\r\n");

        assertThat(RawHttp.status(response)).isEqualTo(status);
        assertThat(response).contains("connection: close");
        assertThat(recorded()).isEmpty();
    }

    @Test
    void clientTrailersAreNotForwardedSoNeitherAFoldNorAHostInThemReachesTheWorker() {
        String echoed = echo("POST /c HTTP/1.1\r\nHost: t\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\n0\r\nX-T: 1\r\n folded\r\nHost: evil.example\r\n\r\n");

        // Read whole first, the body goes with its length (as nginx sends one it buffered), its trailers dropped.
        assertThat(echoed).startsWith("POST /c HTTP/1.1\r\n").endsWith("\r\ncontent-length: 3\r\n\r\nabc")
                .doesNotContain("folded", "evil.example", "chunked");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\u00d9\u00a3", "3;\u00c3\u00a9"})
    void chunkFramingTheDecoderChokesOnIsA400ThatQuotesNothingOfNetty(String sizeLine) throws IOException {
        String response = RawHttp.exchange(shepherd.proxyPort(), "POST /c HTTP/1.1\r\nHost: t\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n" + sizeLine + "\r\nabc\r\n0\r\n\r\n");

        assertThat(RawHttp.status(response)).isEqualTo(400);
        assertThat(response).doesNotContain("Index", "bitIndex", "bounds", "Exception");
        assertThat(recorded()).isEmpty();
    }

    @Test
    void pipelinedPostWhoseIndentedJsonBodyArrivesLaterIsForwardedIntact() throws IOException {
        String json = "{\n  \"a\": 1,\n\t\"b\": [\n    2\n  ]\n}";
        try (Socket socket = connect()) {
            send(socket, "GET /first HTTP/1.1\r\nHost: t\r\n\r\nPOST /second HTTP/1.1\r\nHost: t\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + json.length() + "\r\n\r\n");
            String first = body(readResponse(socket));
            send(socket, json);
            String second = body(readResponse(socket));

            assertThat(first).startsWith("GET /first ");
            assertThat(second).startsWith("POST /second ").endsWith("\r\n\r\n" + json);
        }
    }

    /**
     * A few thousand requests made from a valid one by random mutations of its head (inserted separators and
     * control bytes, duplicated or re-cased lines, framing headers named in Connection), each carrying a request
     * as its body. The invariants: the proxy either refuses a request or the worker answers exactly that request,
     * and no request the worker ever parsed is one that was only a body.
     */
    @Test
    void mutatedRequestsNeverDesynchroniseTheWorkerConnection() throws IOException {
        Random random = new Random(20261130);
        long deadline = System.nanoTime() + 60_000_000_000L;
        int answered = 0;
        for (int i = 0; i < 2000 && System.nanoTime() < deadline; i++) {
            String marker = "/fuzz-" + i;
            String request = mutate(random, "POST " + marker + " HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n"
                    + "Content-Type: text/plain\r\n", SMUGGLED.replace("/smuggled", "/smuggled-" + i));
            String response = exchangeBounded(request);
            if (RawHttp.status(response) == 100) {
                // The proxy's own 100 Continue (it reads the body before it picks a worker): the answer follows.
                response = response.substring(response.indexOf("\r\n\r\n") + 4);
            }
            int status = RawHttp.status(response);
            if (status == 200) {
                answered++;
                assertThat(body(response).toLowerCase()).as("answer to mutation %d:%n%s", i, request)
                        .startsWith("post " + marker + " ");
            } else {
                assertThat(status).as("answer to mutation %d:%n%s", i, request).isIn(-1, 400, 417, 431, 501, 505);
            }
        }
        assertThat(answered).isGreaterThan(100);
        assertThat(recorded()).allSatisfy(line -> assertThat(line.toLowerCase()).startsWith("post /fuzz-").doesNotContain("smuggled"));
        assertThat(echo("GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).startsWith("GET /last ");
    }

    private static String mutate(Random random, String head, String body) {
        String[] framings = {"Content-Length: " + body.length() + "\r\n",
                "Transfer-Encoding: chunked\r\n", "Content-Length: " + body.length() + "\r\nContent-Length: " + body.length() + "\r\n"};
        String[] extras = {"Connection: Content-Length\r\n", "Connection: close, transfer-encoding\r\n", "Connection: host\r\n",
                "Host: evil.example\r\n", "X-Folded: a\r\n b\r\n", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: identity\r\n",
                "Content-Length: 0\r\n", "Expect: 100-continue\r\n", "X-Nul: a\0b\r\n", "Content-Length : 3\r\n",
                " Host: t\r\n", "Transfer-Encoding:\tchunked\r\n", "Transfer-encoding: chunked , chunked\r\n", "X: \u00ff\r\n"};
        int framing = random.nextInt(framings.length);
        StringBuilder text = new StringBuilder(head).append(framings[framing]);
        int count = random.nextInt(3);
        for (int n = 0; n < count; n++) {
            text.append(extras[random.nextInt(extras.length)]);
        }
        if (random.nextInt(4) == 0) {
            int at = head.indexOf("\r\n") + 2 + random.nextInt(text.length() - head.indexOf("\r\n") - 2);
            String[] inserts = {"\r\n", "\n", "\r", " ", "\t", "\0", "\u000b", "\r\n\r\n"};
            text.insert(at, inserts[random.nextInt(inserts.length)]);
        }
        String lines = random.nextInt(5) == 0 ? text.toString().toUpperCase() : text.toString();
        boolean chunked = lines.toLowerCase().contains("transfer-encoding");
        String payload = chunked ? Integer.toHexString(body.length()) + "\r\n" + body + "\r\n0\r\n\r\n" : body;
        return lines + "\r\n" + payload;
    }

    /** Like {@link RawHttp#exchange}, but a request the proxy still waits on gives up after a second. */
    private static String exchangeBounded(String request) throws IOException {
        try (Socket socket = connect()) {
            socket.setSoTimeout(1000);
            send(socket, request);
            try {
                return readResponse(socket);
            } catch (SocketTimeoutException ex) {
                return "";
            }
        }
    }

    private static String echo(String request) {
        return body(RawHttp.exchange(shepherd.proxyPort(), request));
    }

    private static List<String> recorded() throws IOException {
        return Files.readAllLines(record, StandardCharsets.ISO_8859_1);
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort());
        socket.setSoTimeout(10_000);
        return socket;
    }

    private static void send(Socket socket, String bytes) throws IOException {
        OutputStream out = socket.getOutputStream();
        out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** Reads one response framed by Content-Length (the worker's and the proxy's own answers both are). */
    private static String readResponse(Socket socket) throws IOException {
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b == -1) {
                return head.toString();
            }
            head.append((char) b);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        byte[] body = in.readNBytes(length);
        return head + new String(body, StandardCharsets.ISO_8859_1);
    }

    private static String body(String response) {
        int end = response.indexOf("\r\n\r\n");
        return end < 0 ? "" : response.substring(end + 4);
    }

}
