package dev.shepherd.fleet;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.nio.charset.StandardCharsets;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The probe against real sockets on loopback: a worker answering, refusing, hanging, or redirecting. */
class ProbeTests {

    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final List<AutoCloseable> servers = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable server : servers) {
            server.close();
        }
        executor.shutdownNow();
    }

    @Test
    void aStatusInTheRangeIsHealthy() throws Exception {
        int port = serve(200, "ok");

        assertThat(probe("200-399", Duration.ofSeconds(2)).check(port, "/health").get(5, TimeUnit.SECONDS))
                .isEqualTo(Probe.Result.OK);
    }

    @Test
    void aStatusOutsideTheRangeFailsAndSaysWhichStatus() throws Exception {
        int port = serve(503, "starting");

        Probe.Result result = probe("200-399", Duration.ofSeconds(2)).check(port, "/health").get(5, TimeUnit.SECONDS);

        assertThat(result.ok()).isFalse();
        assertThat(result.detail()).isEqualTo("GET /health answered 503");
    }

    @Test
    void oneStatusIsARangeOfOne() throws Exception {
        int noContent = serve(204, "");
        int ok = serve(200, "ok");

        assertThat(probe("204", Duration.ofSeconds(2)).check(noContent, "/health").get(5, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(probe("204", Duration.ofSeconds(2)).check(ok, "/health").get(5, TimeUnit.SECONDS).detail())
                .isEqualTo("GET /health answered 200");
    }

    @Test
    void aRedirectIsJudgedByItsOwnStatusAndNotFollowed() throws Exception {
        int port = serve(302, "");

        assertThat(probe("200-299", Duration.ofSeconds(2)).check(port, "/health").get(5, TimeUnit.SECONDS).detail())
                .isEqualTo("GET /health answered 302");
        assertThat(probe("200-399", Duration.ofSeconds(2)).check(port, "/health").get(5, TimeUnit.SECONDS).ok()).isTrue();
    }

    @Test
    void aSocketTheMasterCouldNotOpenSaysNothingOfTheWorker() {
        Probe.Result emfile = Probe.failed("TCP connect failed: Too many open files",
                new java.net.SocketException("Too many open files"));
        Probe.Result wrapped = Probe.failed("GET /health failed",
                new java.io.IOException("connect", new java.net.SocketException("Too many open files in system")));
        Probe.Result refused = Probe.failed("TCP connect failed", new java.net.ConnectException("Connection refused"));
        Probe.Result workersWords = Probe.failed("GET /health failed",
                new java.io.IOException("Invalid Http response: Too many open files"));

        assertThat(emfile.ok()).isFalse();
        assertThat(emfile.inconclusive()).isTrue();
        assertThat(emfile.detail()).contains("ulimit -n");
        assertThat(wrapped.inconclusive()).isTrue();
        assertThat(refused.inconclusive()).isFalse();
        assertThat(refused.ok()).isFalse();
        assertThat(workersWords.inconclusive()).as("a worker's own words never make a probe inconclusive").isFalse();
    }

    /** No thread for the probe (ulimit -u reached by a worker's forks): it counted against a healthy worker. */
    @Test
    void aProbeTheMasterHasNoThreadForSaysNothingOfTheWorker() {
        Probe threadless = new Probe("200-399", Duration.ofSeconds(1), task -> {
            throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource "
                    + "limits reached");
        });

        Probe.Result result = threadless.check(1, "/health").join();

        assertThat(result.ok()).isFalse();
        assertThat(result.inconclusive()).isTrue();
        assertThat(result.detail()).isEqualTo("GET /health could not run: " + dev.shepherd.worker.OutOfThreads.LIMITS);
        assertThat(dev.shepherd.worker.OutOfThreads.causedIt(new java.util.concurrent.CompletionException(
                new OutOfMemoryError("unable to create native thread: x")))).isTrue();
        assertThat(dev.shepherd.worker.OutOfThreads.causedIt(new OutOfMemoryError("Java heap space"))).isFalse();
        assertThat(dev.shepherd.worker.OutOfThreads.causedIt(new java.io.IOException("unable to create native thread")))
                .as("an exception's message, which may quote a worker").isFalse();
    }

    @Test
    void aRefusedConnectionFails() throws Exception {
        int port;
        try (ServerSocket closed = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = closed.getLocalPort();
        }

        Probe.Result result = probe("200-399", Duration.ofSeconds(2)).check(port, "/health").get(5, TimeUnit.SECONDS);

        assertThat(result.ok()).isFalse();
        assertThat(result.detail()).as("the JDK's words, without the exception's class")
                .isEqualTo("GET /health failed: Connection refused");
    }

    @Test
    void aWorkerThatAcceptsButNeverAnswersFailsAtTheTimeout() throws Exception {
        ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        servers.add(silent);
        List<Socket> accepted = new CopyOnWriteArrayList<>();
        servers.add(() -> {
            for (Socket socket : accepted) {
                socket.close();
            }
        });
        executor.execute(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept());
                }
            } catch (IOException closed) {
                // the test is over
            }
        });

        long start = System.nanoTime();
        Probe.Result result = probe("200-399", Duration.ofMillis(300)).check(silent.getLocalPort(), "/health")
                .get(5, TimeUnit.SECONDS);
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(result.ok()).isFalse();
        assertThat(result.detail()).isIn("GET /health took longer than 300 ms",
                "GET /health failed: took longer than 300 ms");
        assertThat(tookMillis).isBetween(250L, 3000L);
    }

    /** A worker answering 100 Continue without end fails its probe in words, and the probe's thread lives on. */
    @Test
    void endlessInterimAnswersFailTheProbe() throws Exception {
        ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        servers.add(server);
        executor.execute(() -> {
            try (Socket socket = server.accept()) {
                readRequestHead(socket.getInputStream());
                OutputStream out = socket.getOutputStream();
                byte[] interim = "HTTP/1.1 100 Continue\r\n\r\n".repeat(1_000).getBytes(StandardCharsets.US_ASCII);
                while (true) {
                    out.write(interim);
                }
            } catch (IOException closed) {
                // the probe gave up
            }
        });

        Probe.Result result = probe("200-399", Duration.ofSeconds(20)).check(server.getLocalPort(), "/health")
                .get(30, TimeUnit.SECONDS);

        assertThat(result.ok()).isFalse();
        assertThat(result.detail()).isEqualTo("GET /health failed: the worker sent 1xx responses without end");
    }

    /** A worker trickling its answer a byte at a time has its connection closed at the timeout, not when it dies. */
    @Test
    void aTricklingAnswerIsCutAtTheTimeout() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Probe.Result> result = probe("200-399", Duration.ofMillis(500))
                    .check(server.getLocalPort(), "/health");
            try (Socket worker = server.accept()) {
                worker.setSoTimeout(5_000);
                InputStream in = worker.getInputStream();
                readRequestHead(in);
                OutputStream out = worker.getOutputStream();
                out.write("HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.US_ASCII));
                worker.setSoTimeout(100);
                long start = System.nanoTime();
                boolean cut = false;
                // One header byte every 100 ms for up to 5 s: before, the read timeout restarted with each byte.
                while (!cut && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5)) {
                    try {
                        out.write('x');
                        out.flush();
                        cut = closed(in);
                    } catch (IOException reset) {
                        cut = true;
                    }
                }
                assertThat(cut).as("the probe closed its connection").isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
                assertThat(result.get(5, TimeUnit.SECONDS).detail()).isEqualTo("GET /health took longer than 500 ms");
            }
        }
    }

    /** Reads the probe's request head, up to its blank line. */
    private static void readRequestHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int next = in.read();
            if (next < 0) {
                throw new IOException("the probe closed before its request head ended: " + head);
            }
            head.append((char) next);
        }
    }

    /** Whether the peer closed {@code in} within the socket's read timeout; false if it is still open. */
    private static boolean closed(InputStream in) throws IOException {
        try {
            return in.read() == -1;
        } catch (java.net.SocketTimeoutException stillOpen) {
            return false;
        }
    }

    @Test
    void withoutAPathAConnectIsEnough() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            assertThat(probe("200-399", Duration.ofSeconds(1)).check(listening.getLocalPort(), "").get(5, TimeUnit.SECONDS))
                    .isEqualTo(Probe.Result.OK);
        }
    }

    /**
     * Each probe opens its own connection and closes it, as the kubelet's probes do: a connection kept for reuse
     * outlived its worker, and a master whose worker was killed 20 times held 19 sockets in CLOSE-WAIT for as long as
     * the worker's Keep-Alive said (found by an attacking helper).
     */
    @Test
    void aProbeClosesItsConnectionWhateverKeepAliveTheWorkerOffers() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Probe.Result> result = probe("200-399", Duration.ofSeconds(2))
                    .check(server.getLocalPort(), "/health");
            try (Socket worker = server.accept()) {
                worker.setSoTimeout(5_000);
                InputStream in = worker.getInputStream();
                readRequestHead(in);
                worker.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=600\r\n"
                        + "\r\nok").getBytes(StandardCharsets.US_ASCII));
                assertThat(result.get(5, TimeUnit.SECONDS)).isEqualTo(Probe.Result.OK);
                assertThat(in.read()).as("the probe closed its connection").isEqualTo(-1);
            }
        }
    }

    private Probe probe(String status, Duration timeout) {
        return new Probe(status, timeout, executor);
    }

    private int serve(int status, String body) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        server.createContext("/health", exchange -> {
            byte[] bytes = body.getBytes();
            if (status == 302) {
                exchange.getResponseHeaders().add("Location", "/elsewhere");
            }
            exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        servers.add(() -> server.stop(0));
        return server.getAddress().getPort();
    }
}
