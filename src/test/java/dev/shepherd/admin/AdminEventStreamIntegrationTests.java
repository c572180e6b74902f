package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The event stream on the real admin port: bounded in number, refused readably beyond, resumable with
 * {@code Last-Event-ID}. The bound per stream (a client that does not read) is FleetEventStreamTests'.
 */
class AdminEventStreamIntegrationTests {

    private static final String TOKEN = "event-stream-token-0123456789";

    private static final Map<String, String> AUTHORIZATION = Map.of("Authorization", "Bearer " + TOKEN);

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.admin.token=" + TOKEN,
                RunningShepherd.echoWorkerCommand());
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    @Test
    void streamsBeyondTheLimitGet503WithRetryAfterAndAClosedStreamFreesItsPlace() throws IOException {
        List<Socket> streams = new ArrayList<>();
        try {
            for (int i = 0; i < FleetEventStream.MAX_STREAMS; i++) {
                Socket socket = stream(null);
                streams.add(socket);
                assertThat(readUntil(socket, ":connected")).startsWith("HTTP/1.1 200");
            }

            String refused = RawHttp.exchange(shepherd.adminPort(), request(null));
            assertThat(RawHttp.status(refused)).isEqualTo(503);
            assertThat(refused).containsIgnoringCase("Retry-After: 5").contains("application/problem+json")
                    .contains("\"detail\":\"64 event streams are open, the most the admin port keeps; close one, or poll GET /fleet/events\"");
            assertThat(shepherd.admin("GET", "/fleet", null, AUTHORIZATION).statusCode()).as("the rest of the admin API").isEqualTo(200);

            streams.remove(0).close();
            // The master learns of a closed stream when writing to it: events make it write.
            AtomicInteger workers = new AtomicInteger(1);
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
                shepherd.fleet().scale(workers.get() == 1 ? workers.incrementAndGet() : workers.decrementAndGet());
                String answer = RawHttp.exchange(shepherd.adminPort(), request(null).replace("Connection: keep-alive", "Connection: close"));
                return RawHttp.status(answer) != 503;
            });
        } finally {
            RawHttp.closeAll(streams);
            shepherd.fleet().scale(1);
        }
    }

    @Test
    void lastEventIdReplaysTheRecentEventsAfterIt() throws IOException {
        shepherd.fleet().scale(2);
        shepherd.fleet().scale(1);
        List<Long> seqs = new ArrayList<>();
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            seqs.clear();
            JsonNode events = JsonMapper.builder().build().readTree(shepherd.admin("GET", "/fleet/events", null, AUTHORIZATION).body());
            events.forEach(event -> seqs.add(event.path("seq").asLong()));
            return seqs.size() >= 3 && seqs.get(0) > 0;
        });
        long last = seqs.get(seqs.size() - 1);

        try (Socket socket = stream(Long.toString(last - 2))) {
            String received = readUntil(socket, "id:" + last + "\nevent:fleet\n");

            assertThat(received).startsWith("HTTP/1.1 200").contains(":connected").containsSubsequence(
                    "id:" + (last - 1) + "\nevent:fleet\n", "id:" + last + "\nevent:fleet\n").doesNotContain("id:" + (last - 2) + "\n");
        }
    }

    /** Tomcat drops a HEAD's body, so a stream's writes never failed and it held its place for ever. */
    @Test
    void aHeadOfTheStreamGetsItsHeadAndTakesNoPlace() {
        FleetEventStream streams = shepherd.context().getBean(FleetEventStream.class);
        int before = streams.openStreams();

        String answer = RawHttp.exchange(shepherd.adminPort(), request(null).replace("GET ", "HEAD ")
                .replace("Connection: keep-alive", "Connection: close"));

        assertThat(RawHttp.status(answer)).isEqualTo(200);
        assertThat(answer).containsIgnoringCase("Content-Type: text/event-stream").containsIgnoringCase("X-Frame-Options: DENY");
        // At most as many: the other tests' streams end when a write finds their socket closed, so one may end
        // meanwhile (it did, and "equal" failed); the HEAD must not add one.
        assertThat(streams.openStreams()).isLessThanOrEqualTo(before);
    }

    @Test
    void aStreamCarriesTheAdminPortsSecurityHeaders() throws IOException {
        try (Socket socket = stream(null)) {
            assertThat(readUntil(socket, ":connected")).containsIgnoringCase("X-Frame-Options: DENY")
                    .containsIgnoringCase("X-Content-Type-Options: nosniff").containsIgnoringCase("Cache-Control: no-cache");
        }
    }

    @Test
    void aLastEventIdThatIsNoEventsSeqIsABadRequest() {
        String answer = RawHttp.exchange(shepherd.adminPort(), request("abc").replace("Connection: keep-alive", "Connection: close"));

        assertThat(RawHttp.status(answer)).isEqualTo(400);
        assertThat(answer).contains("Last-Event-ID must be the seq of an event (a decimal number), not 'abc'");
    }

    private static String request(String lastEventId) {
        return "GET /fleet/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + TOKEN
                + "\r\n" + (lastEventId == null ? "" : "Last-Event-ID: " + lastEventId + "\r\n") + "Connection: keep-alive\r\n\r\n";
    }

    private static Socket stream(String lastEventId) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.adminPort());
        socket.setSoTimeout(10_000);
        socket.getOutputStream().write(request(lastEventId).getBytes(StandardCharsets.ISO_8859_1));
        return socket;
    }

    /** What arrives until {@code marker} (inclusive of the chunked framing), within the socket's timeout. */
    private static String readUntil(Socket socket, String marker) {
        StringBuilder received = new StringBuilder();
        try {
            BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
            int c;
            while (!received.toString().contains(marker) && (c = reader.read()) != -1) {
                received.append((char) c);
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("after " + received, ex);
        }
        return received.toString();
    }
}
