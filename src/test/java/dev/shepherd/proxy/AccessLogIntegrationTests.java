package dev.shepherd.proxy;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import tools.jackson.databind.json.JsonMapper;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** A real master with {@code fleet.proxy.access-log.enabled} logs a line per request, refusals too; off, none. */
class AccessLogIntegrationTests {

    private static final String TIME = "\\[\\d\\d/\\w{3}/\\d{4}:\\d\\d:\\d\\d:\\d\\d [+-]\\d{4}] ";

    /** One master with the access log on for both tests: a master's start is seconds of CPU. */
    @Nested
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class On {

        private MasterProcess master;

        @BeforeAll
        void start() {
            master = MasterProcess.startReady(1, RunningShepherd.echoWorkerCommand(), "--fleet.proxy.access-log.enabled=true");
        }

        @AfterAll
        void stop() {
            if (master != null) {
                master.close();
            }
        }

        @Test
        void eachRequestIsLoggedWithItsStatusBytesWorkerAndAttempts() throws Exception {
            int port = master.proxyPort();
            int worker = JsonMapper.shared().readTree(master.admin("/fleet").body()).path("workers").get(0).path("id")
                    .asInt();

            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /bytes?n=1234 HTTP/1.1\r\nHost: x\r\n"
                    + "User-Agent: ua \"quoted\" \\ back\r\nReferer: https://example.test/\r\nConnection: close\r\n\r\n")))
                    .isEqualTo(200);
            assertThat(RawHttp.status(RawHttp.exchange(port, "TRACE /t HTTP/1.1\r\nHost: x\r\n\r\n"))).isEqualTo(405);
            assertThat(RawHttp.status(RawHttp.exchange(port, "BLAH\r\n\r\n"))).isEqualTo(400);
            assertThat(RawHttp.status(RawHttp.exchange(port, "POST /conflict HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))).isEqualTo(400);
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /folded HTTP/1.1\r\nHost: x\r\nX: 1\r\n 2\r\n\r\n")))
                    .isEqualTo(400);
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /hang-up HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n"))).isEqualTo(502);

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(master.output())
                    .containsPattern(Pattern.compile("shepherd\\.access +: 127\\.0\\.0\\.1 - - " + TIME
                            + Pattern.quote("\"GET /bytes?n=1234 HTTP/1.1\" 200 1234 \"https://example.test/\" "
                            + "\"ua \\x22quoted\\x22 \\x5C back\" rt=") + "\\d+\\.\\d{3}"
                            + Pattern.quote(" worker=" + worker + " attempts=1")))
                    .containsPattern(TIME + Pattern.quote("\"TRACE /t HTTP/1.1\" 405 0 \"-\" \"-\" rt=")
                            + "\\d+\\.\\d{3}" + Pattern.quote(" worker=- attempts=0"))
                    .as("refused requests are timed from their first bytes too, as nginx times them")
                    .containsPattern(TIME + Pattern.quote("\"-\" 400 0 \"-\" \"-\" rt=") + "\\d+\\.\\d{3}"
                            + Pattern.quote(" worker=- attempts=0"))
                    .as("refused for its fields, after its line was read: the line is logged")
                    .containsPattern(TIME + Pattern.quote("\"POST /conflict HTTP/1.1\" 400 0 \"-\" \"-\" rt=")
                            + "\\d+\\.\\d{3}" + Pattern.quote(" worker=- attempts=0"))
                    .containsPattern(TIME + Pattern.quote("\"GET /folded HTTP/1.1\" 400 0 \"-\" \"-\" rt="))
                    .containsPattern(TIME + Pattern.quote("\"GET /hang-up HTTP/1.1\" 502 0 \"-\" \"-\" rt=")
                            + "\\d+\\.\\d{3} worker=- attempts=[1-9]"));
            assertThat(master.output()).as("the health probes are the master's own, not the proxy's")
                    .doesNotContain("\"GET /health");
        }

        @Test
        void theRequestLineIsTheClientsTheTimeRunsFromItsFirstBytesAndTheBytesAreThoseSent() throws Exception {
            int port = master.proxyPort();
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /old HTTP/1.0\r\n\r\n"))).isEqualTo(200);
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET http://example.test/abs?q=1 HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n"))).isEqualTo(200);
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /chunked-bytes?n=5 HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n"))).isEqualTo(200);
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /chunked-bytes?n=5&v=1.0 HTTP/1.0\r\n\r\n")))
                    .isEqualTo(200);
            // The peer (loopback) is a trusted proxy by default: the client it vouches for is logged (nginx's realip).
            assertThat(RawHttp.status(RawHttp.exchange(port, "GET /vouched HTTP/1.1\r\nHost: x\r\n"
                    + "X-Forwarded-For: 198.51.100.1, 203.0.113.9, 10.1.2.3\r\nConnection: close\r\n\r\n")))
                    .isEqualTo(200);
            try (Socket socket = new Socket("127.0.0.1", port)) {
                OutputStream out = socket.getOutputStream();
                out.write("GET /slow-head HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                // Two seconds between the head's halves, of which at least 1.5 s is asserted: rt runs from the proxy's
                // first read, which a loaded host made late (rt=0.663 after a 700 ms wait, in a full verify).
                await().pollDelay(Duration.ofMillis(2000)).atMost(Duration.ofSeconds(5)).until(() -> true);
                out.write("Connection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(RawHttp.status(RawHttp.readUntilClose(socket.getInputStream()))).isEqualTo(200);
            }

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(master.output())
                    .containsPattern(TIME + Pattern.quote("\"GET /old HTTP/1.0\" 200 "))
                    .containsPattern(TIME + Pattern.quote("\"GET http://example.test/abs?q=1 HTTP/1.1\" 200 "))
                    .as("the worker's chunk framing counted: 5\\r\\nxxxxx\\r\\n0\\r\\n\\r\\n")
                    .containsPattern(TIME + Pattern.quote("\"GET /chunked-bytes?n=5 HTTP/1.1\" 200 15 "))
                    .as("dechunked for HTTP/1.0: the data only")
                    .containsPattern(TIME + Pattern.quote("\"GET /chunked-bytes?n=5&v=1.0 HTTP/1.0\" 200 5 "))
                    .containsPattern(": 203\\.0\\.113\\.9 - - " + TIME + Pattern.quote("\"GET /vouched HTTP/1.1\" 200 "))
                    .as("the two seconds the head took to come counted, at least 1.5 s of them")
                    .containsPattern(TIME + Pattern.quote("\"GET /slow-head HTTP/1.1\" 200 ") + "\\d+ \"-\" \"-\" "
                            + "rt=(1\\.[5-9]|[2-9])"));
        }
    }

    @Test
    void aRequestCutAtTheEndOfTheShutdownsDrainIsLogged444() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(1, RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.access-log.enabled=true", "--fleet.worker.drain-timeout=1s");
             Socket socket = new Socket("127.0.0.1", master.proxyPort())) {
            int worker = JsonMapper.shared().readTree(master.admin("/fleet").body()).path("workers").get(0).path("id")
                    .asInt();
            socket.getOutputStream().write("GET /slow?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            await().atMost(Duration.ofSeconds(10)).until(() -> JsonMapper.shared().readTree(master.admin("/fleet")
                    .body()).path("workers").get(0).path("inFlight").asInt() == 1);

            ProcessHandle.of(master.pid()).orElseThrow().destroy();
            await().atMost(Duration.ofSeconds(30)).until(() -> !master.isAlive());

            assertThat(master.output()).containsPattern(TIME + Pattern.quote("\"GET /slow?ms=30000 HTTP/1.1\" 444 0 "
                    + "\"-\" \"-\" rt=") + "\\d+\\.\\d{3}" + Pattern.quote(" worker=" + worker + " attempts=1"))
                    .doesNotContain("\" 499 ");
        }
    }

    @Test
    void offByDefault() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(1, RunningShepherd.echoWorkerCommand())) {
            assertThat(RawHttp.status(RawHttp.exchange(master.proxyPort(), "GET /off HTTP/1.1\r\nHost: x\r\n"
                    + "Connection: close\r\n\r\n"))).isEqualTo(200);
            assertThat(RawHttp.status(RawHttp.exchange(master.proxyPort(), "BLAH\r\n\r\n"))).isEqualTo(400);

            // The log's thread would have written them within this.
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(master.output()).doesNotContain("shepherd.access", "\"GET /off"));
        }
    }
}
