package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client that pipelines many requests and reads none of the answers is not served further once its connection is
 * unwritable: the proxy holds about one response's worth for it, not one per request (found by an attack: 12 MB a
 * second of direct memory per connection until the event loops died of it). When the client reads, the rest is served
 * in order, nothing lost.
 */
class PipelinedBackpressureIntegrationTests {

    private static final int REQUESTS = 6_000;
    private static final int RESPONSE_BODY = 2_000;

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                // Each answer in one segment: the proxy reads it whole, whatever the client's connection.
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.proxy.client-send-timeout=30s");
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    @Test
    void aClientThatReadsNoneOfItsAnswersIsNotServedAheadAndGetsEveryAnswerOnceItReads() throws Exception {
        long before = served();
        try (Socket socket = new Socket()) {
            // A small receive window: what the proxy may send ahead is its own buffers, the kernel's and this one.
            socket.setReceiveBufferSize(4096);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try {
                    byte[] request = ("GET /whole?bytes=" + RESPONSE_BODY + " HTTP/1.1\r\nHost: t\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII);
                    for (int i = 0; i < REQUESTS; i++) {
                        out.write(request);
                    }
                    out.flush();
                } catch (IOException ex) {
                    throw new IllegalStateException(ex);
                }
            });

            // Served ahead: what fits the socket buffers (at most ~4 MiB, about 2,000 answers of 2 kB), then nothing more.
            long[] last = {before};
            await().pollInterval(Duration.ofMillis(700)).atMost(Duration.ofSeconds(10)).until(() -> {
                long now = served();
                boolean stable = now > before && now == last[0];
                last[0] = now;
                return stable;
            });
            long ahead = served() - before;
            assertThat(ahead).as("answers produced while the client read none").isPositive().isLessThan(REQUESTS / 2);

            InputStream in = socket.getInputStream();
            for (int i = 0; i < REQUESTS; i++) {
                String head = readHead(in);
                assertThat(head).as("response " + i).startsWith("HTTP/1.1 200")
                        .containsIgnoringCase("content-length: " + RESPONSE_BODY + "\r\n");
                assertThat(in.readNBytes(RESPONSE_BODY)).as("body " + i).hasSize(RESPONSE_BODY).containsOnly((byte) 'x');
            }
            sent.get(10, TimeUnit.SECONDS);
        }
        assertThat(served() - before).isEqualTo(REQUESTS);
    }

    /** Requests the proxy answered, from its {@code shepherd.proxy.requests} meters. */
    private static long served() {
        MeterRegistry registry = shepherd.context().getBean(MeterRegistry.class);
        return registry.find("shepherd.proxy.requests").functionTimers().stream()
                .mapToLong(timer -> (long) timer.count()).sum();
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            assertThat(b).as("the connection ended inside a head").isNotEqualTo(-1);
            head.append((char) b);
        }
        return head.toString();
    }
}
