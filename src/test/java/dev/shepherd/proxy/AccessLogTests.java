package dev.shepherd.proxy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The access log's lines, their escaping and cuts, and a log that cannot keep up. */
class AccessLogTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @Test
    void aRequestIsLoggedInNginxsCombinedFormatThenTimeWorkerAndAttempts() {
        AccessLog log = new AccessLog(registry, line -> { }, ZoneOffset.UTC);

        String line = log.format(new AccessLog.Entry(1_796_428_225_123L, "192.0.2.7", "GET", "/a?b=1", "HTTP/1.1", 200,
                1234, 3_400_000, "https://x/", "curl/8.5.0", 2, 1));

        assertThat(line).isEqualTo("192.0.2.7 - - [04/Dec/2026:23:50:25 +0000] \"GET /a?b=1 HTTP/1.1\" 200 1234 "
                + "\"https://x/\" \"curl/8.5.0\" rt=0.003 worker=2 attempts=1");
        log.close();
    }

    @Test
    void whatIsNotKnownIsADash() {
        AccessLog log = new AccessLog(registry, line -> { }, ZoneId.of("Europe/Paris"));

        String line = log.format(new AccessLog.Entry(1_796_428_225_123L, "::1", null, null, null, 400, 0, -1, null, null,
                -1, 0));

        assertThat(line).isEqualTo("::1 - - [05/Dec/2026:00:50:25 +0100] \"-\" 400 0 \"-\" \"-\" rt=- worker=- attempts=0");
        log.close();
    }

    /** A client's bytes never make a second line or end a quoted field early. */
    @Test
    void theClientsBytesAreEscapedAsNginxEscapesThem() {
        AccessLog log = new AccessLog(registry, line -> { }, ZoneOffset.UTC);

        String line = log.format(new AccessLog.Entry(0, "127.0.0.1", "G\u0000T", "/q\"\\\r\n\u00e9\u20ac\u007f",
                "HTTP/1.1", 200, 5, 0, "r\"", "a\"b\\c\td", 1, 2));

        assertThat(line).doesNotContain("\n", "\r", "\t", "\u00e9", "\u20ac", "\u0000")
                .contains("\"G\\x00T /q\\x22\\x5C\\x0D\\x0A\\xE9\\xE2\\x82\\xAC\\x7F HTTP/1.1\" 200 5 \"r\\x22\" "
                        + "\"a\\x22b\\x5Cc\\x09d\" rt=0.000 worker=1 attempts=2");
        log.close();
    }

    /** A target or header past its bound is cut on the event loop: the queue never holds a client's megabyte. */
    @Test
    void longFieldsAreCutAndMarked() {
        List<String> lines = new CopyOnWriteArrayList<>();
        AccessLog log = new AccessLog(registry, lines::add, ZoneOffset.UTC);
        HttpRequest request = request("GET", "/" + "x".repeat(100_000));
        request.headers().set(HttpHeaderNames.USER_AGENT, "ua \"quoted\" \\ " + "y".repeat(100_000));

        log.request("127.0.0.1", request, 200, 5, System.nanoTime() - 12_345_678_901L, 1, 2);

        await().atMost(Duration.ofSeconds(5)).until(() -> !lines.isEmpty());
        assertThat(lines.get(0)).contains("\"GET /" + "x".repeat(AccessLog.MAX_TARGET - 1) + "... HTTP/1.1\"")
                .contains(" \"ua \\x22quoted\\x22 \\x5C " + "y".repeat(AccessLog.MAX_HEADER - 14) + "...\" rt=12.345 "
                        + "worker=1 attempts=2");
        log.close();
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void linesTheLogCannotTakeAreDroppedAndCountedAndTheCallerNeverWaits(CapturedOutput output) throws Exception {
        CountDownLatch blocked = new CountDownLatch(1);
        List<String> lines = new CopyOnWriteArrayList<>();
        AccessLog log = new AccessLog(registry, line -> {
            lines.add(line);
            try {
                blocked.await();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        }, ZoneOffset.UTC);
        HttpRequest request = request("GET", "/");

        long started = System.nanoTime();
        for (int i = 0; i < AccessLog.CAPACITY + 100; i++) {
            log.request("127.0.0.1", request, 200, 0, System.nanoTime(), 1, 1);
        }
        long took = System.nanoTime() - started;

        assertThat(Duration.ofNanos(took)).as("a stuck log never holds the event loop").isLessThan(Duration.ofSeconds(5));
        double dropped = registry.get("shepherd.proxy.access.log.dropped").counter().count();
        assertThat(dropped).isBetween(99.0, 101.0);
        blocked.countDown();
        log.close();
        assertThat(lines).as("what was queued is written at close").hasSize(AccessLog.CAPACITY + 100 - (int) dropped);
        assertThat(output.getOut()).as("said by the writer, once it could go on").contains("Access log: "
                + (int) dropped + " lines dropped since the last warning");
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void linesNotWrittenWhenTheLogClosesAreCountedAndWarnedOf(CapturedOutput output) throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        AccessLog log = new AccessLog(registry, line -> {
            entered.countDown();
            try {
                never.await();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        }, ZoneOffset.UTC);
        log.request("127.0.0.1", request("GET", "/first"), 200, 0, -1, 1, 1);
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 10; i++) {
            log.request("127.0.0.1", request("GET", "/" + i), 200, 0, -1, 1, 1);
        }

        log.close();
        log.request("127.0.0.1", request("GET", "/after"), 200, 0, -1, 1, 1);

        assertThat(registry.get("shepherd.proxy.access.log.dropped").counter().count())
                .as("the ten left in the queue and the one past the close").isEqualTo(11.0);
        assertThat(output.getOut()).contains("WARN", "Access log: 10 lines of the last requests dropped at shutdown");
        never.countDown();
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void aLineThatCannotBeWrittenIsCountedAndTheLogGoesOn(CapturedOutput output) {
        List<String> lines = new CopyOnWriteArrayList<>();
        AccessLog log = new AccessLog(registry, line -> {
            if (line.contains("/broken")) {
                throw new IllegalStateException("appender failed");
            }
            lines.add(line);
        }, ZoneOffset.UTC);

        log.request("127.0.0.1", request("GET", "/broken"), 200, 0, -1, 1, 1);
        log.request("127.0.0.1", request("GET", "/fine"), 200, 0, -1, 1, 1);
        log.close();

        assertThat(lines).singleElement().asString().contains("\"GET /fine HTTP/1.1\"");
        assertThat(registry.get("shepherd.proxy.access.log.dropped").counter().count()).isEqualTo(1.0);
        assertThat(output.getOut()).contains("Access log: 1 lines dropped since the last warning; writing one failed: "
                + "java.lang.IllegalStateException: appender failed");
    }

    private static HttpRequest request(String method, String uri) {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(method), uri);
    }
}
