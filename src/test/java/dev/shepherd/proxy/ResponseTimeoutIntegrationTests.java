package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import io.netty.util.concurrent.EventExecutor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * Each response clock starts and stops where the README says, tested just before and just after its edge with a
 * worker ({@link FaultyWorker}) that is late on purpose: the response timeout (1 s here) runs until the head of
 * the response arrives, held or not; the body idle timeout (2 s here) then runs between reads from the worker,
 * paused while the client does not read.
 */
class ResponseTimeoutIntegrationTests {

    private static final int WAIT_MILLIS = 10_000;

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.proxy.response-timeout=1s", "--fleet.proxy.body-idle-timeout=2s");
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    @Test
    void headJustBeforeTheResponseTimeoutIsServed() {
        RawClient.Received received = get("/slow?head=500&gaps=0");

        assertThat(received.bytes()).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: close\r\n\r\nhello");
    }

    @Test
    void headJustAfterTheResponseTimeoutGets504AtTheTimeout() {
        long start = System.nanoTime();
        RawClient.Received received = get("/slow?head=2000&gaps=0");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(RawHttp.status(received.bytes())).as("before the head came").isEqualTo(504);
        assertThat(received.body()).contains("the worker did not answer within 1000 ms").doesNotContain("worker 1");
        assertThat(tookMillis).isBetween(1000L, 2000L);
    }

    @Test
    void fixedLengthHeadAtOnceWithItsBodyAfterTheResponseTimeoutIsServed() {
        // The case of the issue: the head is held for its body, but it has arrived, so the response timeout is over.
        RawClient.Received received = get("/slow?framing=fixed&head=0&gaps=1500");

        assertThat(received.bytes()).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: close\r\n\r\nhello");
    }

    @Test
    void fixedLengthHeadWhoseBodyComesAfterTheBodyIdleTimeoutGets504AtTheTimeout() {
        long start = System.nanoTime();
        RawClient.Received received = get("/slow?framing=fixed&head=0&gaps=3000");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;

        assertThat(RawHttp.status(received.bytes())).as("nothing reached the client yet: an error, not a cut").isEqualTo(504);
        assertThat(received.body()).contains("the worker sent the head of its response but no body within 2000 ms");
        assertThat(tookMillis).isBetween(2000L, 3000L);
    }

    @Test
    void bodyWhosePartsComeJustWithinTheBodyIdleTimeoutIsServedWhateverItsTotalTime() {
        RawClient.Received received = get("/slow?framing=chunked&head=0&gaps=1300,1300,1300");

        assertThat(received.bytes()).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                + "5\r\nhello\r\n".repeat(3) + "0\r\n\r\n");
    }

    @Test
    void bodyThatStallsAfterItStartedIsCutAtTheBodyIdleTimeout() {
        long start = System.nanoTime();
        RawClient.Received chunked = get("/slow?framing=chunked&head=0&gaps=0,3000");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        RawClient.Received fixed = get("/slow?framing=fixed&head=0&gaps=0,3000");

        assertThat(chunked.bytes()).as("no last chunk")
                .isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nhello\r\n");
        assertThat(chunked.end()).isEqualTo(RawClient.End.FIN);
        assertThat(tookMillis).isBetween(2000L, 3000L);
        assertThat(fixed.bytes()).as("5 of 10 bytes")
                .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nconnection: close\r\n\r\nhello");
        assertThat(fixed.end()).isEqualTo(RawClient.End.FIN);
    }

    @Test
    void clientThatDoesNotReadForLongerThanTheBodyIdleTimeoutStillGetsTheWholeBody() throws IOException {
        int size = 16 * 1024 * 1024;
        try (Socket socket = new Socket()) {
            // A small window, so that the proxy has to stop reading the worker while this client does not read.
            socket.setReceiveBufferSize(32 * 1024);
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), shepherd.proxyPort()));
            socket.setSoTimeout(WAIT_MILLIS);
            socket.getOutputStream().write(("GET /big?bytes=" + size + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            await().pollDelay(Duration.ofMillis(3000)).atMost(Duration.ofSeconds(4)).until(() -> true);

            InputStream in = socket.getInputStream();
            long received = 0;
            byte[] buffer = new byte[64 * 1024];
            int read;
            while ((read = in.read(buffer)) != -1) {
                received += read;
            }
            assertThat(received).isEqualTo(("HTTP/1.1 200 OK\r\nContent-Length: " + size + "\r\nconnection: close\r\n\r\n")
                    .length() + (long) size);
        }
    }

    /**
     * Idle event loops sleep: no wake-up on a beat (a sweep every 20 ms woke each loop 50 times a second), and a
     * response timeout still fires on time from a loop that slept ({@link Sweeper}).
     */
    @Test
    void idleEventLoopsSleep() {
        assumeThat(Path.of("/proc/thread-self/status")).as("Linux's per-thread counters").exists();
        List<EventExecutor> loops = new ArrayList<>();
        shepherd.context().getBean(ProxyServer.class).eventLoops().forEach(loops::add);

        // Idle connections to the worker, if a test left some, are closed at their deadline; then nothing is due.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            long before = wakeUps(loops);
            await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> true);
            // Reading the counter wakes each loop once.
            assertThat(wakeUps(loops) - before).as("wake-ups of %d idle event loops in a second", loops.size())
                    .isLessThanOrEqualTo(3L * loops.size());
        });

        headJustAfterTheResponseTimeoutGets504AtTheTimeout();
    }

    /** The event loops' voluntary context switches: how often they went to sleep, so how often they woke. */
    private static long wakeUps(List<EventExecutor> loops) throws Exception {
        long total = 0;
        for (EventExecutor loop : loops) {
            total += loop.submit(() -> Files.readAllLines(Path.of("/proc/thread-self/status")).stream()
                    .filter(line -> line.startsWith("voluntary_ctxt_switches:"))
                    .mapToLong(line -> Long.parseLong(line.substring(line.indexOf(':') + 1).trim()))
                    .sum()).get(5, TimeUnit.SECONDS);
        }
        return total;
    }

    private static RawClient.Received get(String path) {
        return RawClient.exchange(shepherd.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                WAIT_MILLIS);
    }
}
