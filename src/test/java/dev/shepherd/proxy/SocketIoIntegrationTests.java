package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.NodeProcess;
import dev.shepherd.testsupport.NodeProcess.Event;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Traffic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A socket.io chat app (socketio-chat-worker.js) and socket.io-client (socketio-client.js, websocket transport)
 * through a real master with two workers: messages, a {@code kill -9} of a worker, and a rolling reload with 200
 * connected clients and plain traffic beside them. With socket.io's default transports (long polling, then the
 * upgrade), clients that keep cookies work across the two workers with {@code fleet.proxy.sticky.cookie}, and fail
 * with {@code 400 Session ID unknown} without it.
 */
class SocketIoIntegrationTests {

    private static final Duration STEP = EchoFleet.STEP;
    private static final long DRAIN_TIMEOUT_MILLIS = 2000;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path temp;

    @BeforeEach
    void installModules() {
        NodeModules.assumeInstalled();
    }

    /** The tests that ask for two chat workers and nothing else share one master. */
    @Nested
    class OnTwoPlainChatWorkers {

        private static RunningShepherd shepherd;

        @BeforeAll
        static void start() {
            NodeModules.assumeInstalled();
            shepherd = twoChatWorkers();
        }

        @AfterAll
        static void stop() {
            if (shepherd != null) {
                shepherd.close();
            }
        }

        @Test
        void chatMessagesReachEveryClientOfTheSendersWorker() {
            try (NodeProcess clients = clients(shepherd)) {
                open(clients, 20);
                Map<Long, Long> perWorker = clients.events("hello").stream()
                        .collect(Collectors.groupingBy(hello -> hello.number("pid"), Collectors.counting()));
                assertThat(perWorker).containsOnlyKeys(shepherd.readyPids());
                long sendersWorker = clients.events("hello", hello -> hello.number("conn") == 1).get(0).number("pid");

                assertThat(clients.command("chat 1 hello from one", STEP).number("ok")).isEqualTo(1);

                await().atMost(STEP).until(() -> clients.events("chat").size() == perWorker.get(sendersWorker));
                assertThat(clients.events("chat")).allSatisfy(chat -> {
                    assertThat(chat.text("text")).isEqualTo("hello from one");
                    assertThat(chat.number("pid")).isEqualTo(sendersWorker);
                });
            }
        }

        @Test
        void withoutStickinessDefaultTransportsAcrossTwoWorkersFailWithSessionIdUnknown() {
            try (NodeProcess clients = NodeProcess.start("socketio-client.js", Map.of("TRANSPORTS", "default",
                    "OP_TIMEOUT_MS", "20000"), "http://127.0.0.1:" + shepherd.proxyPort())) {
                clients.send("open 10");
                await().atMost(STEP).until(() -> clients.events().stream().anyMatch(event ->
                        (event.type().equals("connect-error") || event.type().equals("disconnect"))
                                && event.number("status") == 400));
            }
        }
    }

    @Test
    void defaultTransportsPollThenUpgradeAcrossTwoWorkersWithAStickyCookie() {
        try (RunningShepherd shepherd = twoChatWorkers("--fleet.proxy.sticky.cookie=SHEPHERD");
             NodeProcess clients = NodeProcess.start("socketio-client.js", Map.of("TRANSPORTS", "default",
                     "OP_TIMEOUT_MS", "20000"), "http://127.0.0.1:" + shepherd.proxyPort())) {
            open(clients, 20);
            Map<Long, Long> perWorker = clients.events("hello").stream()
                    .collect(Collectors.groupingBy(hello -> hello.number("pid"), Collectors.counting()));
            assertThat(perWorker).as("sessions on both workers").containsOnlyKeys(shepherd.readyPids());
            await().atMost(STEP).until(() -> clients.events("upgrade").size() == 20);
            assertThat(clients.events("upgrade")).allSatisfy(upgrade ->
                    assertThat(upgrade.text("transport")).isEqualTo("websocket"));

            assertThat(clients.command("chat all hello from everyone", STEP).number("ok")).isEqualTo(20);
            for (int conn = 1; conn <= 20; conn++) {
                assertThat(clients.command("chat " + conn + " message " + conn, STEP).number("ok")).isEqualTo(1);
            }
            long sendersWorker = clients.events("hello", hello -> hello.number("conn") == 1).get(0).number("pid");
            await().atMost(STEP).until(() -> clients.events("chat", chat -> chat.text("text").equals("message 1")).size()
                    == perWorker.get(sendersWorker));
            assertThat(clients.events("chat", chat -> chat.text("text").equals("message 1")))
                    .allSatisfy(chat -> assertThat(chat.number("pid")).isEqualTo(sendersWorker));
            assertThat(clients.events("connect-error")).as("no 400 Session ID unknown on a handshake").isEmpty();
            assertThat(clients.events("disconnect")).as("no session lost on the way").isEmpty();
            assertThat(clients.events("hello")).as("one session per client").hasSize(20);
        }
    }

    @Test
    void killDashNineOfAWorkerClosesItsClientsAtOnceAndTheyReconnectToTheOther() {
        // The killed worker is restarted only after 10 s, so "the other" is the only READY worker meanwhile.
        try (RunningShepherd shepherd = twoChatWorkers("--fleet.restart.initial-backoff=10s");
             NodeProcess clients = clients(shepherd)) {
            open(clients, 20);
            long victim = shepherd.readyPids().get(0);
            long survivor = shepherd.readyPids().get(1);
            Set<Long> victimsClients = connsOf(clients.events("hello"), victim);
            long killed = System.currentTimeMillis();

            ProcessHandle.of(victim).orElseThrow().destroyForcibly();

            await().atMost(STEP).until(() -> clients.events("disconnect").size() == victimsClients.size());
            assertThat(clients.events("disconnect")).allSatisfy(disconnect -> {
                assertThat(victimsClients).contains(disconnect.number("conn"));
                assertThat(disconnect.text("reason")).isEqualTo("transport close");
                assertThat(disconnect.at() - killed).as("ms from the kill to the disconnect").isLessThan(3000);
            });
            await().atMost(STEP).until(() -> clients.events("hello", hello -> hello.number("reconnects") == 1).size()
                    == victimsClients.size());
            assertThat(clients.events("hello", hello -> hello.number("reconnects") == 1))
                    .allSatisfy(hello -> assertThat(hello.number("pid")).isEqualTo(survivor));
        }
    }

    @Test
    void rollingReloadWith200ClientsAndPlainTrafficLosesNothingAndMovesEveryClientToTheNewGeneration() throws Exception {
        Path record = temp.resolve("workers.jsonl");
        try (RunningShepherd shepherd = twoChatWorkers("--fleet.worker.environment.RECORD_FILE=" + record,
                "--fleet.proxy.tunnel.drain-timeout=" + DRAIN_TIMEOUT_MILLIS + "ms");
             NodeProcess clients = clients(shepherd)) {
            for (int batch = 0; batch < 4; batch++) {
                open(clients, 50);
            }
            Set<Long> oldPids = new HashSet<>(shepherd.readyPids());
            try (Traffic traffic = Traffic.start(shepherd, "/", 4)) {
                await().atMost(STEP).until(() -> traffic.ok() > 50);

                assertThat(shepherd.admin("POST", "/fleet/reload", null).statusCode()).isEqualTo(202);

                await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.snapshot().reload().state() == ReloadStatus.State.SUCCEEDED);
                shepherd.awaitReady(2);
                Set<Long> newPids = new HashSet<>(shepherd.readyPids());
                await().atMost(STEP).until(() -> lastHellos(clients).values().stream().allMatch(newPids::contains));
                traffic.close();
                // Traffic stops on its own after 60 s, which the awaits above may take: 50 requests of the test's own.
                for (int i = 0; i < 50; i++) {
                    assertThat(shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/")).timeout(STEP).build())
                            .statusCode()).as("a plain request after the reload").isEqualTo(200);
                }
                assertThat(traffic.failures()).as("plain requests lost").isEmpty();
            }

            assertThat(lastHellos(clients)).as("the worker each client is connected to now").hasSize(200)
                    .allSatisfy((conn, pid) -> assertThat(oldPids).doesNotContain(pid));
            // The last old worker leaves the snapshot when its exit is reaped, 200 ms after its SIGTERM (the chat
            // worker's own wait), which nothing orders against the clients' reconnections awaited above.
            await().atMost(Duration.ofSeconds(15)).until(() ->
                    shepherd.snapshot().workers().stream().allMatch(worker -> worker.generation() == 2));
            for (long old : oldPids) {
                assertClientsLeftOnlyWhileTheirWorkerDrained(shepherd, clients, old);
                assertStoppedOnlyAfterItsTunnelsOrTheDrainTimeout(shepherd, record, old);
            }
        }
    }

    /** Every client of the old worker was closed by Shepherd (Going Away), after DRAINING and within the drain timeout. */
    private static void assertClientsLeftOnlyWhileTheirWorkerDrained(RunningShepherd shepherd, NodeProcess clients, long pid) {
        long draining = event(shepherd, FleetEvent.Type.DRAINING, pid).at().toEpochMilli();
        List<Event> disconnects = clients.events("disconnect", disconnect -> disconnect.number("pid") == pid);
        assertThat(disconnects).as("disconnects from worker " + pid)
                .hasSize(clients.events("hello", hello -> hello.number("pid") == pid).size());
        assertThat(disconnects).allSatisfy(disconnect -> {
            assertThat(disconnect.number("code")).as("closed by Shepherd with Going Away").isEqualTo(1001);
            assertThat(disconnect.at() - draining).as("ms from worker %d's DRAINING to the disconnect", pid)
                    .isBetween(0L, DRAIN_TIMEOUT_MILLIS + 3000);
        });
        long first = disconnects.stream().mapToLong(Event::at).min().orElseThrow();
        long last = disconnects.stream().mapToLong(Event::at).max().orElseThrow();
        assertThat(last - first).as("the closes are spread over the drain window, not all in one instant")
                .isGreaterThanOrEqualTo(DRAIN_TIMEOUT_MILLIS / 4);
    }

    /** The worker's own record of its SIGTERM: no client left on it then, unless the tunnel drain timeout had passed. */
    private static void assertStoppedOnlyAfterItsTunnelsOrTheDrainTimeout(RunningShepherd shepherd, Path record, long pid)
            throws Exception {
        long draining = event(shepherd, FleetEvent.Type.DRAINING, pid).at().toEpochMilli();
        JsonNode sigterm = Files.readAllLines(record).stream().map(JSON::readTree)
                .filter(line -> line.path("event").asString().equals("sigterm") && line.path("pid").asLong() == pid)
                .findFirst().orElseThrow(() -> new AssertionError("worker " + pid + " recorded no SIGTERM"));
        long sinceDraining = sigterm.path("at").asLong() - draining;
        assertThat(sigterm.path("open").asLong() == 0 || sinceDraining >= DRAIN_TIMEOUT_MILLIS)
                .as("worker %d got SIGTERM %d ms after DRAINING with %d clients connected", pid, sinceDraining,
                        sigterm.path("open").asLong()).isTrue();
    }

    private static RunningShepherd twoChatWorkers(String... extra) {
        List<String> args = new ArrayList<>(List.of("--fleet.workers=2"));
        args.addAll(List.of(NodeModules.workerArguments("socketio-chat-worker.js")));
        args.addAll(List.of(extra));
        return RunningShepherd.startReady(args.toArray(String[]::new));
    }

    private static NodeProcess clients(RunningShepherd shepherd) {
        return NodeProcess.start("socketio-client.js", Map.of("RECONNECT_DELAY_MS", "50", "RECONNECT_DELAY_MAX_MS", "500",
                "OP_TIMEOUT_MS", "20000"), "http://127.0.0.1:" + shepherd.proxyPort());
    }

    /** Opens {@code count} clients at once and checks that all were greeted, saying why those that were not failed. */
    private static void open(NodeProcess clients, int count) {
        assertThat(clients.command("open " + count, STEP).number("ok")).as("clients greeted; connect errors: %s",
                clients.events("connect-error").stream().map(error -> error.text("message")).distinct().toList())
                .isEqualTo(count);
    }

    private static Set<Long> connsOf(List<Event> hellos, long pid) {
        return hellos.stream().filter(hello -> hello.number("pid") == pid).map(hello -> hello.number("conn"))
                .collect(Collectors.toSet());
    }

    /** The pid of the last worker that greeted each client. */
    private static Map<Long, Long> lastHellos(NodeProcess clients) {
        return clients.events("hello").stream().collect(Collectors.toMap(hello -> hello.number("conn"),
                hello -> hello.number("pid"), (earlier, later) -> later));
    }

    private static FleetEvent event(RunningShepherd shepherd, FleetEvent.Type type, long pid) {
        return shepherd.fleet().events().recent().stream().filter(event -> event.type() == type && event.pid() == pid)
                .findFirst().orElseThrow(() -> new AssertionError("no " + type + " event for pid " + pid));
    }
}
