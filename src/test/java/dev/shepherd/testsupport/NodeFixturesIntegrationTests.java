package dev.shepherd.testsupport;

import dev.shepherd.testsupport.Arrivals.Arrival;
import dev.shepherd.testsupport.NodeProcess.Event;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Node workers and client drivers of src/test/js against each other, with no Shepherd in between: what the
 * proxy tests take for granted about them holds, so a failure there is the proxy's.
 */
class NodeFixturesIntegrationTests {

    private static final Duration STEP = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path temp;

    @BeforeEach
    void installModules() {
        NodeModules.assumeInstalled();
    }

    @Test
    void wsEchoWorkerEchoesTextBinaryAMebibyteAndPingsAndCountsItsConnections() throws Exception {
        try (NodeProcess worker = NodeProcess.startWorker("ws-echo-worker.js", Map.of());
             NodeProcess client = wsClient(worker)) {
            assertThat(client.command("open 3", STEP).number("ok")).isEqualTo(3);
            assertThat(client.events("open")).extracting(event -> event.number("pid")).containsOnly(worker.pid());
            assertThat(get(worker, "/connections")).contains("\"open\":3");

            assertThat(client.command("send all text 5", STEP).number("ok")).isEqualTo(3);
            assertThat(client.command("send 1 text 1048576", STEP).number("ok")).isEqualTo(1);
            assertThat(client.command("send all binary 4096", STEP).number("ok")).isEqualTo(3);
            assertThat(client.events("echo")).hasSize(7).allMatch(echo -> echo.json().path("same").asBoolean());
            assertThat(client.events("echo", echo -> echo.text("kind").equals("binary"))).hasSize(3);
            assertThat(client.events("echo", echo -> echo.number("bytes") == 1048576)).hasSize(1);
            assertThat(client.command("ping all", STEP).number("ok")).isEqualTo(3);
            assertThat(client.events("pong")).hasSize(3).allMatch(pong -> pong.json().path("same").asBoolean());

            assertThat(client.command("close all", STEP).number("ok")).isEqualTo(3);
            assertThat(client.events("close")).extracting(event -> event.number("code")).containsOnly(1000L);
            await().atMost(STEP).until(() -> get(worker, "/connections").contains("\"open\":0"));
        }
    }

    @Test
    void wsClientReportsAWorkerKilledUnderItsConnectionsWithCode1006AtOnce() throws Exception {
        try (NodeProcess worker = NodeProcess.startWorker("ws-echo-worker.js", Map.of());
             NodeProcess client = wsClient(worker)) {
            client.command("open 2", STEP);
            long killed = System.currentTimeMillis();

            worker.kill();

            await().atMost(STEP).until(() -> client.events("close").size() == 2);
            assertThat(client.events("close")).allSatisfy(close -> {
                assertThat(close.number("code")).isEqualTo(1006);
                assertThat(close.at() - killed).as("ms from the kill to the close").isLessThan(1000);
            });
        }
    }

    @Test
    void wsClientReportsAHandshakeThatGetsAnOrdinaryResponse() {
        try (NodeProcess worker = NodeProcess.startWorker("ws-echo-worker.js", Map.of());
             NodeProcess client = NodeProcess.start("ws-client.js", Map.of(), "ws://127.0.0.1:" + worker.port() + "/refuse")) {
            assertThat(client.command("open 1", STEP).number("failed")).isEqualTo(1);
            assertThat(client.events("failed")).singleElement().satisfies(failed -> assertThat(failed.number("status")).isEqualTo(403));
        }
    }

    @Test
    void wsEchoWorkerAnswersAnUpgradeToH2cWith400SoAForwardedOneShows() {
        try (NodeProcess worker = NodeProcess.startWorker("ws-echo-worker.js", Map.of())) {
            String response = RawHttp.exchange(worker.port(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");

            assertThat(RawHttp.status(response)).isEqualTo(400);
            assertThat(response).endsWith("not a websocket upgrade: h2c");
        }
    }

    @Test
    void socketIoChatReachesEveryClientAndAKilledWorkersClientsReconnectToItsSuccessor() throws Exception {
        NodeProcess worker = NodeProcess.startWorker("socketio-chat-worker.js", Map.of());
        try (NodeProcess client = NodeProcess.start("socketio-client.js", Map.of(), "http://127.0.0.1:" + worker.port())) {
            assertThat(client.command("open 4", STEP).number("ok")).isEqualTo(4);
            assertThat(client.events("hello")).extracting(event -> event.number("pid")).containsOnly(worker.pid());
            assertThat(client.command("chat 1 hello everyone", STEP).number("ok")).isEqualTo(1);
            await().atMost(STEP).until(() -> client.events("chat").size() == 4);
            assertThat(client.events("chat")).allSatisfy(chat -> assertThat(chat.text("text")).isEqualTo("hello everyone"));
            assertThat(get(worker, "/connections")).contains("\"open\":4");
            long killed = System.currentTimeMillis();

            worker.kill();

            await().atMost(STEP).until(() -> client.events("disconnect").size() == 4);
            assertThat(client.events("disconnect")).allSatisfy(disconnect -> {
                assertThat(disconnect.text("reason")).isEqualTo("transport close");
                assertThat(disconnect.number("code")).isEqualTo(1006);
                assertThat(disconnect.at() - killed).as("ms from the kill to the disconnect").isLessThan(1000);
            });
            worker = NodeProcess.startWorker("socketio-chat-worker.js", worker.port(), Map.of());
            long successor = worker.pid();
            await().atMost(STEP).until(() -> client.events("hello", hello -> hello.number("pid") == successor).size() == 4);
            assertThat(client.events("hello", hello -> hello.number("reconnects") == 1)).hasSize(4);
        } finally {
            worker.close();
        }
    }

    @Test
    void socketIoWorkerRecordsItsClientsAndHowManyWereStillConnectedAtSigterm() throws Exception {
        Path record = temp.resolve("record.jsonl");
        try (NodeProcess worker = NodeProcess.startWorker("socketio-chat-worker.js", Map.of("RECORD_FILE", record.toString()));
             NodeProcess client = NodeProcess.start("socketio-client.js", Map.of(), "http://127.0.0.1:" + worker.port())) {
            client.command("open 2", STEP);
            long signalled = System.currentTimeMillis();

            worker.terminate();

            await().atMost(STEP).until(() -> !worker.isAlive());
            List<String> lines = Files.readAllLines(record);
            assertThat(lines).filteredOn(line -> line.contains("\"event\":\"connect\"")).hasSize(2);
            assertThat(lines).filteredOn(line -> line.contains("\"event\":\"sigterm\"")).singleElement().asString()
                    .contains("\"open\":2").matches(line -> Math.abs(atOf(line) - signalled) < 1000, "at is the signal's time");
        }
    }

    @Test
    void streamingWorkerSendsEventsChunksAndLongPollsOnTimeAndCountsStreamsClosedEarly() throws Exception {
        try (NodeProcess worker = NodeProcess.startWorker("streaming-worker.js", Map.of())) {
            List<Arrival> events = Arrivals.read(stream(worker, "/events?count=10"), 10);
            List<Arrival> chunks = Arrivals.read(stream(worker, "/chunked?count=5"), 5);
            List<Arrival> poll = Arrivals.read(stream(worker, "/long-poll?ms=300"), 1);

            assertThat(events).hasSize(10);
            assertThat(chunks).hasSize(5);
            assertThat(poll).hasSize(1);
            assertThat(events.get(9).sentAt() - events.get(0).sentAt()).as("an event every 100 ms").isBetween(850.0, 1500.0);
            assertThat(Arrivals.median(events)).as("delays " + Arrivals.delays(events)).isLessThan(20);
            try (InputStream stalled = stream(worker, "/stall")) {
                assertThat(new String(stalled.readNBytes(11))).isEqualTo("first part\n");
                assertThat(get(worker, "/stats")).contains("\"open\":1", "\"closedEarly\":0");
            }
            await().atMost(STEP).until(() -> get(worker, "/stats").contains("\"open\":0,\"closedEarly\":1"));
        }
    }

    private NodeProcess wsClient(NodeProcess worker) {
        return NodeProcess.start("ws-client.js", Map.of(), "ws://127.0.0.1:" + worker.port() + "/");
    }

    private InputStream stream(NodeProcess worker, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(worker.uri(path)).build(), HttpResponse.BodyHandlers.ofInputStream()).body();
    }

    private String get(NodeProcess worker, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(worker.uri(path)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static long atOf(String line) {
        return Long.parseLong(line.replaceAll(".*\"at\":(\\d+).*", "$1"));
    }
}
