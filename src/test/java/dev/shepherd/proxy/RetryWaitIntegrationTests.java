package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A request between two attempts holds nothing more of its client's body than it had: the rest waits in the
 * client's socket until the next attempt's connection takes it. Here the wait is the longest one, the retry budget
 * spent (0 %, 0 per second) and the worker that failed the request alive, so the proxy waits the whole retry
 * backoff to learn whether it died before it answers 502.
 */
class RetryWaitIntegrationTests {

    private static final int BODY = 100 * 1024 * 1024;

    /**
     * One worker that resets every request as soon as it has its head, behind a budget that allows no retry. Bodies
     * stream, without a size limit (a body read first is whole before the first attempt, so no request would wait
     * for a next attempt with its upload under way).
     */
    private static RunningShepherd start(String backoff) {
        return RunningShepherd.startReady("--fleet.workers=1", "--fleet.proxy.request-buffering=false",
                "--fleet.proxy.client-max-body-size=0",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.proxy.retry.budget-percent=0", "--fleet.proxy.retry.min-per-second=0",
                "--fleet.proxy.retry.backoff=" + backoff);
    }

    /** Until the worker has reset the request's first attempt: the request then waits the backoff. */
    private static void awaitFailedAttempt(RunningShepherd shepherd) {
        Counter failures = shepherd.context().getBean(MeterRegistry.class)
                .counter("shepherd.proxy.upstream.failures", "reason", "sent");
        await().atMost(Duration.ofSeconds(10)).until(() -> failures.count() >= 1);
    }

    @Test
    void aClientUploadIsNotReadIntoMemoryWhileTheRequestWaitsForItsNextAttempt() throws Exception {
        try (RunningShepherd shepherd = start("6s");
             Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("PUT /reset-after-head HTTP/1.1\r\nHost: a\r\nContent-Length: " + BODY + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[1024]);
            out.flush();
            // The worker resets the first attempt at once; the request then waits the 6 s backoff (the check below takes
            // 1.5 s of it, a loaded host more).
            awaitFailedAttempt(shepherd);
            AtomicLong written = new AtomicLong();
            Thread writer = new Thread(() -> {
                byte[] chunk = new byte[64 * 1024];
                try {
                    while (written.get() < BODY - 1024) {
                        out.write(chunk, 0, (int) Math.min(chunk.length, BODY - 1024 - written.get()));
                        written.addAndGet(chunk.length);
                    }
                } catch (IOException closed) {
                    // The proxy answered and closed the connection.
                }
            }, "uploader");
            writer.setDaemon(true);
            writer.start();

            await("what the client can write while the request waits: its socket buffers, not the whole body")
                    .during(Duration.ofMillis(1500)).atMost(Duration.ofMillis(2500))
                    .until(() -> written.get() < BODY / 3);
            String response = RawHttp.readUntilClose(socket.getInputStream());
            assertThat(response).startsWith("HTTP/1.1 502").contains("not retried: the retry budget is spent");
            writer.join(Duration.ofSeconds(5).toMillis());
        }
    }

    @Test
    void aRequestWaitingBetweenTwoAttemptsWhenTheMasterStopsIsAnsweredBeforeItsConnectionCloses() throws Exception {
        RunningShepherd stopping = start("2s");
        CompletableFuture<Void> closed = null;
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), stopping.proxyPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write("GET /reset-after-head HTTP/1.1\r\nHost: a\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            awaitFailedAttempt(stopping);

            closed = CompletableFuture.runAsync(stopping::close);
            String response = RawHttp.readUntilClose(socket.getInputStream());

            assertThat(response).as("the drain waited for it, as for requests in flight")
                    .startsWith("HTTP/1.1 502").contains("not retried: the retry budget is spent");
        } finally {
            if (closed == null) {
                stopping.close();
            } else {
                closed.get(60, TimeUnit.SECONDS);
            }
        }
    }
}
