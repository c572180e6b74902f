package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A request's body is read before a worker is picked, up to the retry buffer limit (nginx's
 * {@code proxy_request_buffering}, on unless {@code fleet.proxy.request-buffering=false}): a client that uploads
 * slowly holds no worker (a thread of a threaded worker, the only slot under {@code fleet.worker.max-concurrency})
 * meanwhile, and a body larger than the limit still reaches the worker whole.
 */
class SlowUploadIntegrationTests {

    /** A whole upload of 60 KB that closes its connection: the new body at the spool's bound of 100 KB. */
    private static final String WHOLE_60KB = "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 60000\r\n"
            + "Connection: close\r\n\r\n" + "y".repeat(60_000);

    /** Without a concurrency limit as well: the worker has no request in flight until the body is whole. */
    @Test
    void aSlowUploadReachesNoWorkerUntilItsBodyIsWholeUnlessBufferingIsOff() throws Exception {
        for (boolean buffering : new boolean[] {true, false}) {
            try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                    RunningShepherd.echoWorkerCommand(), "--fleet.proxy.request-buffering=" + buffering);
                 Socket slow = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                slow.setSoTimeout(20_000);
                OutputStream out = slow.getOutputStream();
                out.write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
                        + "hello").getBytes(StandardCharsets.US_ASCII));
                out.flush();

                if (buffering) {
                    org.awaitility.Awaitility.await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                            .until(() -> shepherd.snapshot().inFlight() == 0);
                } else {
                    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                            .until(() -> shepherd.snapshot().inFlight() == 1);
                }

                out.write("world".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                assertThat(readAll(slow.getInputStream())).as("buffering " + buffering).startsWith("HTTP/1.1 200")
                        .contains("body=10");
            }
        }
    }

    @Test
    void aSlowUploadDoesNotHoldTheOnlySlotWhileItsBodyComes() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=1s");
             Socket slow = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            slow.setSoTimeout(20_000);
            OutputStream out = slow.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();

            for (int i = 0; i < 3; i++) {
                HttpResponse<String> other = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/hello"))
                        .timeout(Duration.ofSeconds(10)).build());
                assertThat(other.statusCode()).as("served while the upload is unfinished: " + other.body())
                        .isEqualTo(200);
            }

            out.write("world".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = readAll(slow.getInputStream());
            assertThat(answer).startsWith("HTTP/1.1 200").contains("method=POST").contains("body=10");
            assertThat(shepherd.context().getBean(ProxyServer.class).waitingBodyBytes())
                    .as("the body's bytes left the proxy's count of waiting bodies").isZero();
        }
    }

    /**
     * A client that waits for {@code 100 Continue} gets it from the proxy, which reads its body before a worker is
     * picked, as nginx does: here while the only worker is busy, so it cannot have come from the worker.
     */
    @Test
    void aClientWaitingForContinueGetsItFromTheProxyAndHoldsNoSlotMeanwhile() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=20s");
             Socket waiting = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            java.util.concurrent.CompletableFuture<HttpResponse<String>> busy = shepherd.http().sendAsync(
                    HttpRequest.newBuilder(shepherd.proxy("/slow?ms=6000")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> shepherd.snapshot().inFlight() == 1);
            waiting.setSoTimeout(20_000);
            OutputStream out = waiting.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                    + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();

            assertThat(new String(waiting.getInputStream().readNBytes(25), StandardCharsets.US_ASCII))
                    .isEqualTo("HTTP/1.1 100 Continue\r\n\r\n");
            assertThat(busy).as("the worker is still busy with the other request").isNotDone();
            assertThat(shepherd.snapshot().inFlight()).as("the upload holds no slot").isEqualTo(1);

            out.write("hello".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = readAll(waiting.getInputStream());
            assertThat(answer).startsWith("HTTP/1.1 200").contains("body=5").doesNotContainIgnoringCase("expect:");
            assertThat(busy.get(20, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aBodyLargerThanTheBufferLimitStillReachesTheWorkerWhole() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.retry.buffer-limit=16KB")) {
            byte[] body = new byte[300_000];
            HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/upload"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(20)).build());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("body=300000");
        }
    }

    /**
     * A streamed body ({@code request-buffering=false}) takes the worker's only slot; a client that then trickles it
     * (a byte every 400 ms, never pausing as long as {@code client-body-timeout}) falls below
     * {@code client-body-min-rate}, gets 408, and the request queued behind it is served.
     */
    @Test
    void aBodyTrickledAfterItTookTheOnlySlotIsCutAtTheMinimumRateAndTheSlotFreed() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.request-buffering=false",
                "--fleet.proxy.client-body-timeout=1s", "--fleet.proxy.client-body-min-rate=1KB",
                "--fleet.proxy.queue-timeout=30s");
             Socket slow = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            slow.setSoTimeout(20_000);
            OutputStream out = slow.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(2048))
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> shepherd.snapshot().inFlight() == 1);
            java.util.concurrent.CompletableFuture<HttpResponse<String>> queued = shepherd.http().sendAsync(
                    HttpRequest.newBuilder(shepherd.proxy("/queued")).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            long start = System.nanoTime();
            try {
                while (!queued.isDone() && System.nanoTime() - start < 15_000_000_000L) {
                    org.awaitility.Awaitility.await().pollDelay(Duration.ofMillis(200)).until(() -> true);
                    out.write('x');
                    out.flush();
                }
            } catch (java.io.IOException closedByTheProxy) {
                // The proxy closed the upload: what it answered is read below.
            }
            assertThat(readAll(slow.getInputStream())).startsWith("HTTP/1.1 408")
                    .contains("fleet.proxy.client-body-min-rate");
            HttpResponse<String> served = queued.get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(served.statusCode()).isEqualTo(200);
            assertThat(served.body()).contains("uri=/queued");
        }
    }

    /**
     * Streamed bodies ({@code request-buffering=false}) held by requests waiting for a worker stay within the
     * proxy-wide bound: past it, a request whose body bytes came with its head or after it queued is refused, here on
     * keep-alive connections whose reads have grown to 64 KB (a new connection's first reads are far smaller).
     */
    @Test
    void bodiesWaitingForAWorkerAreBoundedProxyWideAndTheirBytesAreGivenBack() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=30s",
                "--fleet.proxy.request-buffering=false")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            int bodyBytes = 64_000;
            int uploads = (int) (ProxyContext.WAITING_BODIES_LIMIT / bodyBytes) + 20;
            String body = "x".repeat(bodyBytes);
            java.util.List<Socket> sockets = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < uploads; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort());
                    sockets.add(socket);
                    socket.setSoTimeout(10_000);
                    // One request answered first, so that the connection's reads have grown to its size.
                    socket.getOutputStream().write(("POST /warm HTTP/1.1\r\nHost: test\r\nContent-Length: "
                            + bodyBytes + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
                    assertThat(RawHttp.readResponse(socket.getInputStream())).startsWith("HTTP/1.1 200");
                }
                java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> busy = shepherd.http()
                        .sendAsync(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=30000")).timeout(Duration.ofSeconds(60))
                                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                        .until(() -> shepherd.snapshot().inFlight() == 1);
                byte[] request = ("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: " + bodyBytes + "\r\n"
                        + "\r\n" + body).getBytes(StandardCharsets.US_ASCII);
                for (Socket socket : sockets) {
                    socket.getOutputStream().write(request);
                }
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
                        .until(() -> proxy.waiting() + refusedSoFar(sockets) >= uploads);
                assertThat(proxy.waitingBodyBytes()).as("held for waiting requests, at most the limit and one body")
                        .isLessThanOrEqualTo(ProxyContext.WAITING_BODIES_LIMIT + bodyBytes);
                Socket refused = null;
                for (Socket socket : sockets) {
                    if (socket.getInputStream().available() > 0) {
                        refused = socket;
                        break;
                    }
                }
                assertThat(refused).as("some uploads were refused rather than held").isNotNull();
                assertThat(RawHttp.readResponse(refused.getInputStream())).startsWith("HTTP/1.1 503")
                        .contains("request bodies waiting");
                busy.cancel(true);
            } finally {
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> proxy.waitingBodyBytes() == 0);
        }
    }

    /**
     * Bodies read first never pass the proxy-wide bound in memory: past it, the next bodies go to their files, and
     * no request is refused for it; all are answered once the worker is free, and their bytes given back.
     */
    /**
     * Found by an attacking helper: one client trickling bodies held gigabytes on disk. The bodies kept in files are
     * bounded in all: one that would pass fleet.proxy.client-body-temp-max-size gets 503 when no body is being read
     * to refuse in its place (a whole body waiting for its worker is not refused for its own client's); once the body
     * holding the space goes, the next is taken.
     */
    @Test
    void bodiesKeptInFilesAreBoundedInAllAndTheSpaceComesBackWhenABodyGoes() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=30s",
                "--fleet.proxy.retry.buffer-limit=1KB", "--fleet.proxy.client-body-temp-max-size=100KB")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> busy = shepherd.http()
                    .sendAsync(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=4000")).timeout(Duration.ofSeconds(60))
                            .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 1);
            try (Socket holder = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                holder.setSoTimeout(30_000);
                holder.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 90000\r\n\r\n"
                        + "x".repeat(90_000)).getBytes(StandardCharsets.US_ASCII));
                holder.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.waiting() == 1);
                assertThat(RawHttp.exchange(shepherd.proxyPort(), WHOLE_60KB)).startsWith("HTTP/1.1 503").contains("retry-after: 1")
                        .contains("the request bodies the proxy keeps on disk are at their bound");
                assertThat(busy.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                assertThat(RawHttp.readResponse(holder.getInputStream())).as("the whole body waited for its worker")
                        .startsWith("HTTP/1.1 200").contains("body=90000");
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(RawHttp.status(RawHttp.exchange(shepherd.proxyPort(), WHOLE_60KB))).isEqualTo(200));
        }
    }

    /**
     * A body written whole to its worker is kept on disk only to send it again should that worker fail: at the bound,
     * that copy is given up for room before any request is refused, and both requests are answered.
     */
    @Test
    void atTheBoundABodySentWholeGivesUpItsCopyForRoom() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.retry.buffer-limit=1KB", "--fleet.proxy.client-body-temp-max-size=100KB")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            try (Socket sent = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                sent.setSoTimeout(30_000);
                sent.getOutputStream().write(("POST /slow?ms=3000 HTTP/1.1\r\nHost: test\r\nContent-Length: 90000\r\n\r\n"
                        + "x".repeat(90_000)).getBytes(StandardCharsets.US_ASCII));
                sent.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 1);
                assertThat(proxy.spool().bytes()).as("its copy, kept for a retry").isGreaterThan(80_000);
                assertThat(RawHttp.exchange(shepherd.proxyPort(), WHOLE_60KB)).startsWith("HTTP/1.1 200").contains("body=60000");
                assertThat(roomMade(shepherd, "sent")).isEqualTo(1);
                assertThat(roomMade(shepherd, "queued")).isZero();
                assertThat(RawHttp.readResponse(sent.getInputStream())).as("the first, answered all the same")
                        .startsWith("HTTP/1.1 200");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.spool().bytes() == 0);
            assertThat(shepherd.context().getBean(io.micrometer.core.instrument.MeterRegistry.class)
                    .get("shepherd.proxy.request.bodies.kept").gauge().value()).isZero();
        }
    }

    /** {@code shepherd_proxy_request_bodies_room_made_total{body}}. */
    private static double roomMade(RunningShepherd shepherd, String body) {
        return shepherd.context().getBean(io.micrometer.core.instrument.MeterRegistry.class)
                .get("shepherd.proxy.request.bodies.room.made").tag("body", body).functionCounter().count();
    }

    /**
     * Found by a re-attacking helper: a body's copy on disk was held until its response had reached the client, so
     * seven requests whose large responses were read slowly kept every other upload out. Once part of the response has
     * reached the client nothing is retried, and the copy goes at once.
     */
    @Test
    void aBodysCopyGoesOnceItsResponseHasBegunToReachTheClient() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.retry.buffer-limit=1KB")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            try (Socket slowReader = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                slowReader.setReceiveBufferSize(4096);
                slowReader.setSoTimeout(30_000);
                slowReader.getOutputStream().write(("POST /bytes?n=4000000 HTTP/1.1\r\nHost: test\r\n"
                        + "Content-Length: 90000\r\n\r\n" + "x".repeat(90_000)).getBytes(StandardCharsets.US_ASCII));
                slowReader.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> slowReader.getInputStream().available() > 0);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(proxy.spool().bytes()).as("the body's copy, with 4 MB still to read").isZero());
                byte[] head = slowReader.getInputStream().readNBytes(17);
                assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200 OK\r\n");
            }
        }
    }

    /**
     * Found by a re-attacking helper: whole bodies re-sent to a slow route, waiting in the queue, kept every other
     * client's upload out. At the bound, with no body being read to refuse, the body of the client that holds the most
     * that has waited longest in the queue is refused for another client's (503, its connection kept), and the new
     * body gets its room and its worker.
     */
    @Test
    void atTheBoundAQueuedBodyOfTheClientHoldingTheMostIsRefusedForAnotherClients() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=30s",
                "--fleet.proxy.retry.buffer-limit=1KB", "--fleet.proxy.client-body-temp-max-size=100KB")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> busy = shepherd.http()
                    .sendAsync(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=3000")).timeout(Duration.ofSeconds(60))
                            .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 1);
            try (Socket holder = new Socket()) {
                holder.bind(new java.net.InetSocketAddress("127.0.0.2", 0));
                holder.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
                holder.setSoTimeout(30_000);
                holder.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 90000\r\n\r\n"
                        + "x".repeat(90_000)).getBytes(StandardCharsets.US_ASCII));
                holder.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.waiting() == 1);
                assertThat(RawHttp.exchange(shepherd.proxyPort(), WHOLE_60KB)).as("another client's body, from 127.0.0.1")
                        .startsWith("HTTP/1.1 200").contains("body=60000");
                assertThat(RawHttp.readResponse(holder.getInputStream())).startsWith("HTTP/1.1 503")
                        .contains("retry-after: 1").contains("this client's bodies held the most of them");
                assertThat(roomMade(shepherd, "queued")).isEqualTo(1);
                assertThat(busy.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                holder.getOutputStream().write("GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                assertThat(RawHttp.readResponse(holder.getInputStream())).as("its connection kept")
                        .startsWith("HTTP/1.1 200");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.spool().bytes() == 0);
        }
    }

    /**
     * Found by an attacking helper: a client that filled the bound with bodies it then trickled had every other
     * client's upload refused for as long as it kept them up. At the bound, the body still being read that came
     * slowest lately, once read for a second, is refused (503 with the reason) and its room goes to the new body,
     * which waits for it unread; the new body reaches the worker whole.
     */
    @Test
    void atTheBoundTheSlowestBodyBeingReadIsRefusedAndTheNewOneGetsItsRoom() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.retry.buffer-limit=1KB", "--fleet.proxy.client-body-temp-max-size=100KB")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            try (Socket holder = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                holder.setSoTimeout(30_000);
                holder.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 200000\r\n\r\n"
                        + "x".repeat(90_000)).getBytes(StandardCharsets.US_ASCII));
                holder.getOutputStream().flush();
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.spool().bytes() >= 80_000);
                // Within its first second the holder is spared; the new body waits for it to be refusable (up to a
                // second), or is refused and tried again here.
                await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                        assertThat(RawHttp.exchange(shepherd.proxyPort(), WHOLE_60KB)).startsWith("HTTP/1.1 200")
                                .contains("body=60000"));
                assertThat(RawHttp.readResponse(holder.getInputStream())).startsWith("HTTP/1.1 503")
                        .contains("retry-after: 1").contains("this request's body came the slowest of those being read");
                assertThat(holder.getInputStream().read()).as("its connection closed").isEqualTo(-1);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.spool().bytes() == 0);
        }
    }

    @Test
    void bodiesReadFirstPastTheProxyWideBoundGoToFilesAndNoneIsRefused() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=60s")) {
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            int bodyBytes = 64_000;
            int uploads = (int) (ProxyContext.WAITING_BODIES_LIMIT / bodyBytes) + 20;
            byte[] request = ("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: " + bodyBytes + "\r\n\r\n"
                    + "x".repeat(bodyBytes)).getBytes(StandardCharsets.US_ASCII);
            java.util.List<Socket> sockets = new java.util.ArrayList<>();
            try {
                java.util.concurrent.CompletableFuture<java.net.http.HttpResponse<String>> busy = shepherd.http()
                        .sendAsync(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=20000")).timeout(Duration.ofSeconds(60))
                                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                        .until(() -> shepherd.snapshot().inFlight() == 1);
                for (int i = 0; i < uploads; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort());
                    sockets.add(socket);
                    socket.setSoTimeout(60_000);
                    socket.getOutputStream().write(request);
                }
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
                        .until(() -> proxy.waiting() == uploads);
                assertThat(refusedSoFar(sockets)).as("no upload was refused").isZero();
                assertThat(proxy.waitingBodyBytes()).as("held in memory for waiting requests")
                        .isLessThanOrEqualTo(ProxyContext.WAITING_BODIES_LIMIT);
                assertThat(busy.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                for (Socket socket : sockets.subList(0, 3)) {
                    assertThat(RawHttp.readResponse(socket.getInputStream())).startsWith("HTTP/1.1 200").contains("body=" + bodyBytes);
                }
            } finally {
                for (Socket socket : sockets) {
                    socket.close();
                }
            }
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> proxy.waitingBodyBytes() == 0);
        }
    }

    /** How many of the sockets have an answer waiting (the proxy refused them), without blocking. */
    private static int refusedSoFar(java.util.List<Socket> sockets) throws java.io.IOException {
        int refused = 0;
        for (Socket socket : sockets) {
            if (socket.getInputStream().available() > 0) {
                refused++;
            }
        }
        return refused;
    }

    private static String readAll(InputStream in) throws java.io.IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        in.transferTo(bytes);
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }
}
