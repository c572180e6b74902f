package dev.shepherd.proxy;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Request bodies larger than the retry buffer limit are read whole before a worker is picked, the part past the
 * limit kept in an unlinked file of {@code fleet.proxy.client-body-temp-path} (nginx's {@code client_body_temp_path}),
 * and bodies larger than {@code fleet.proxy.client-max-body-size} are refused with 413 (nginx's
 * {@code client_max_body_size}).
 */
class RequestBodySpoolIntegrationTests {

    @TempDir
    Path spool;

    /**
     * A slow upload of 300 KB (past the 64 KB held in memory) holds no worker's slot while it comes, leaves no file
     * to be seen in the spool directory, and reaches the worker intact.
     */
    @Test
    void aLargeSlowUploadHoldsNoSlotUntilItIsWholeAndArrivesIntact() throws Exception {
        byte[] body = randomBytes(300_000);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=1s",
                "--fleet.proxy.client-body-temp-path=" + spool);
             Socket slow = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            slow.setSoTimeout(20_000);
            OutputStream out = slow.getOutputStream();
            out.write(("PUT /digest HTTP/1.1\r\nHost: test\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, 200_000);
            out.flush();

            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.context().getBean(ProxyServer.class)
                    .inFlight() == 1);
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> other = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/hello"))
                        .timeout(Duration.ofSeconds(10)).build());
                assertThat(other.statusCode()).as("served while 200 KB of the upload are in: " + other.body())
                        .isEqualTo(200);
            }
            assertThat(shepherd.snapshot().inFlight()).as("the upload holds no worker").isZero();
            try (var files = Files.list(spool)) {
                assertThat(files).as("the spooled part is in an unlinked file").isEmpty();
            }

            out.write(body, 200_000, body.length - 200_000);
            out.flush();
            assertThat(RawHttp.readUntilClose(slow.getInputStream())).startsWith("HTTP/1.1 200")
                    .contains("body=" + body.length, "sha256=" + sha256(body));
            assertThat(shepherd.context().getBean(io.micrometer.core.instrument.MeterRegistry.class)
                    .counter("shepherd.proxy.request.bodies.spooled").count()).as("the upload, not the small GETs")
                    .isEqualTo(1);
        }
    }

    /**
     * A spooled body can be sent again: the worker that read it died without answering, and the idempotent request
     * is answered by the other worker, which gets all 2 MB of it (a streamed body past the limit could not be).
     */
    @Test
    void aSpooledBodyIsSentWholeAgainWhenItsFirstWorkerDiesBeforeAnswering() throws Exception {
        byte[] body = randomBytes(2_000_000);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.client-body-temp-path=" + spool)) {
            WorkerSnapshot dying = shepherd.snapshot().workers().get(0);
            for (int i = 0; i < 2; i++) {
                HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(
                                shepherd.proxy("/die-before-answer?pid=" + dying.pid()))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(30)).build());
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                assertThat(response.body()).doesNotStartWith("pid=" + dying.pid() + "\n")
                        .contains("body=" + body.length);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().workers().stream()
                    .anyMatch(worker -> worker.id() == dying.id() && worker.restarts() == dying.restarts() + 1));
            HttpResponse<String> digest = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/digest"))
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(30)).build());
            assertThat(digest.body()).contains("sha256=" + sha256(body));
        }
    }

    /**
     * Too large by its {@code Content-Length}: 413 before the body is read (a client waiting for {@code 100 Continue}
     * never gets it); chunked: 413 when it passes the limit. No worker sees either; the same connection is closed.
     */
    @Test
    void aBodyLargerThanTheMaximumIsRefusedWith413AndNoWorkerSeesIt() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.client-max-body-size=100KB")) {
            long servedBefore = served(shepherd);
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                client.setSoTimeout(10_000);
                client.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 102401\r\n"
                        + "Expect: 100-continue\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                assertThat(RawHttp.readUntilClose(client.getInputStream())).startsWith("HTTP/1.1 413 ")
                        .contains("fleet.proxy.client-max-body-size (100 KB)").doesNotContain("100 Continue");
            }
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                client.setSoTimeout(10_000);
                OutputStream out = client.getOutputStream();
                out.write("POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                String chunk = "8000\r\n" + "x".repeat(0x8000) + "\r\n";
                try {
                    for (int i = 0; i < 4; i++) {
                        out.write(chunk.getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                    }
                } catch (java.io.IOException closedByTheProxy) {
                    // The answer came before the last chunk: read below.
                }
                assertThat(RawHttp.readUntilClose(client.getInputStream())).startsWith("HTTP/1.1 413 ")
                        .contains("client-max-body-size");
            }
            HttpResponse<String> within = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/upload"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[100 * 1024])).build());
            assertThat(within.body()).contains("body=" + 100 * 1024);
            assertThat(served(shepherd) - servedBefore).as("only the request within the limit reached a worker")
                    .isEqualTo(1);
        }
    }

    /**
     * With {@code request-buffering=false} a chunked body streams to the worker: when it passes the maximum, the
     * worker's connection is closed (it has an incomplete request) and the client gets 413.
     */
    @Test
    void aStreamedBodyThatPassesTheMaximumEndsWith413() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.client-max-body-size=64KB", "--fleet.proxy.request-buffering=false");
             Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            client.setSoTimeout(10_000);
            OutputStream out = client.getOutputStream();
            out.write(("POST /stream HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "8000\r\n" + "x".repeat(0x8000) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 1);
            try {
                for (int i = 0; i < 2; i++) {
                    out.write(("8000\r\n" + "x".repeat(0x8000) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            } catch (java.io.IOException closedByTheProxy) {
                // Read below.
            }
            assertThat(RawHttp.readUntilClose(client.getInputStream())).startsWith("HTTP/1.1 413 ");
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 0);
            assertThat(shepherd.get("/after").statusCode()).isEqualTo(200);
        }
    }

    /**
     * A worker that reads none of a large body and never answers: the response timeout runs while it takes none
     * of the request (nginx's {@code proxy_send_timeout}), whether the body streams or comes from its file, so the
     * request ends with 504 instead of being held for ever.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "request-buffering={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void aWorkerThatTakesNoneOfTheBodyTimesOut(boolean buffering) throws Exception {
        int size = 8 << 20;
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.proxy.request-buffering=" + buffering, "--fleet.proxy.response-timeout=2s",
                "--fleet.proxy.client-body-temp-path=" + spool);
             Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            client.setSoTimeout(30_000);
            OutputStream out = client.getOutputStream();
            Thread uploader = new Thread(() -> {
                try {
                    out.write(("POST /slow?head=600000 HTTP/1.1\r\nHost: test\r\nContent-Length: " + size
                            + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    byte[] chunk = new byte[64 * 1024];
                    for (int sent = 0; sent < size; sent += chunk.length) {
                        out.write(chunk);
                    }
                } catch (java.io.IOException closed) {
                    // The proxy answered and closed: read below.
                }
            }, "uploader");
            uploader.setDaemon(true);
            uploader.start();
            // With the body read first the request is whole, so the connection is kept alive after the answer.
            assertThat(RawHttp.readHead(client.getInputStream())).startsWith("HTTP/1.1 504 ");
            assertThat(new String(client.getInputStream().readNBytes(40), StandardCharsets.US_ASCII))
                    .startsWith("504 Gateway Timeout: the worker");
        }
    }

    /**
     * A worker that answers an upload before reading it and closes at once (a {@code 413} here; a {@code 401} is the
     * same) has its answer reach the client, whether the body is read first and then sent as fast as the worker's
     * connection takes it, or streams: the reset that the unread body draws must not wipe out or replace the answer
     * before the proxy has read it. Before, with the body read first, 8 of 30 such 5 MB uploads got a {@code 502}
     * ("the worker closed the connection while the request was sent") instead of the worker's {@code 413}: a failed
     * write closed the connection with the answer still unread in its socket. Bodies of 30 KB (kept in memory) and
     * 3 MB (spooled), ten of each.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "request-buffering={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void anAnswerGivenBeforeTheBodyWasReadReachesTheClient(boolean buffering) throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.proxy.request-buffering=" + buffering, "--fleet.proxy.client-body-temp-path=" + spool)) {
            for (int size : new int[] {30_000, 3_000_000}) {
                byte[] body = randomBytes(size);
                for (int i = 0; i < 10; i++) {
                    try (Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                        client.setSoTimeout(20_000);
                        OutputStream out = client.getOutputStream();
                        Thread uploader = new Thread(() -> {
                            try {
                                out.write(("POST /early-reset HTTP/1.1\r\nHost: test\r\nContent-Length: " + size
                                        + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                                out.write(body);
                                out.flush();
                            } catch (java.io.IOException closed) {
                                // Streaming, the proxy may answer and close before all of it is sent: read below.
                            }
                        }, "uploader");
                        uploader.setDaemon(true);
                        uploader.start();
                        InputStream in = client.getInputStream();
                        assertThat(RawHttp.readHead(in)).as("upload %d of %d bytes", i, size)
                                .startsWith("HTTP/1.1 413 Content Too Large\r\n");
                        assertThat(new String(in.readNBytes(8), StandardCharsets.US_ASCII)).isEqualTo("too big\n");
                        uploader.join(10_000);
                    }
                }
            }
        }
    }

    private static long served(RunningShepherd shepherd) {
        return shepherd.snapshot().workers().stream().mapToLong(WorkerSnapshot::requests).sum();
    }

    private static byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        new Random(length).nextBytes(bytes);
        return bytes;
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
