package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.NodeProcess;
import dev.shepherd.testsupport.NodeProcess.Event;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * WebSockets through a real master with the {@code ws} package on both sides (ws-echo-worker.js, ws-client.js):
 * echo, placement by open tunnels, big and binary messages, pings, refused and forbidden upgrades, and what a
 * crash, a drain, an idle tunnel and a shutdown do to open tunnels. The first tests share one master with two
 * workers and close their clients when they end; the others start masters of their own.
 */
@Disabled("needs the proxy's Upgrade tunnels (#17)")
class WebSocketIntegrationTests {

    static final Duration STEP = Duration.ofSeconds(30);

    private static RunningShepherd shepherd;

    @BeforeAll
    static void startMaster() {
        NodeModules.assumeInstalled();
        shepherd = twoEchoWorkers();
    }

    @AfterAll
    static void stopMaster() {
        if (shepherd != null) {
            shepherd.close();
        }
    }

    @Test
    void echoOverTwoWorkersReachesBothAndEchoesEveryMessage() {
        try (NodeProcess client = client(shepherd, "/chat")) {
            open(client, 10);
            assertThat(client.events("open")).extracting(open -> open.number("pid")).containsOnlyElementsOf(shepherd.readyPids())
                    .containsAll(shepherd.readyPids());

            assertThat(client.command("send all text 32", STEP).number("ok")).isEqualTo(10);
            assertThat(client.events("echo")).hasSize(10).allMatch(echo -> echo.json().path("same").asBoolean());
            assertThat(client.command("close all", STEP).number("ok")).isEqualTo(10);
            assertThat(client.events("close")).extracting(close -> close.number("code")).containsOnly(1000L);
        }
    }

    @Test
    void hundredConcurrentClientsAreSpreadEvenlyOverBothWorkers() throws Exception {
        awaitNoConnections(shepherd);
        try (NodeProcess client = client(shepherd, "/")) {
            open(client, 100);

            Map<Long, Long> perWorker = openPerWorker(client);
            assertThat(perWorker).as("clients per worker pid").hasSize(2)
                    .allSatisfy((pid, count) -> assertThat(count).isCloseTo(50L, within(3L)));
            for (WorkerSnapshot worker : shepherd.snapshot().workers()) {
                assertThat(workerConnections(worker)).as("what worker %d counts itself", worker.pid())
                        .isEqualTo(perWorker.get(worker.pid()));
            }
        }
    }

    @Test
    void newTunnelsGoToTheWorkerWithFewerOpenTunnelsRatherThanRoundRobin() throws Exception {
        awaitNoConnections(shepherd);
        try (NodeProcess client = client(shepherd, "/")) {
            openOneByOne(client, 40);
            long emptied = shepherd.readyPids().get(0);
            client.command("close pid=" + emptied, STEP);
            WorkerSnapshot emptiedWorker = worker(shepherd, emptied);
            await().atMost(STEP).until(() -> workerConnections(emptiedWorker) == 0);
            long other = openPerWorker(client).keySet().iterator().next();

            openOneByOne(client, 40);

            assertThat(openPerWorker(client)).as("round-robin would leave about 20 and 40; fewest tunnels first gives 30 and 30")
                    .containsOnlyKeys(emptied, other)
                    .allSatisfy((pid, count) -> assertThat(count).isCloseTo(30L, within(3L)));
        }
    }

    @Test
    void mebibyteMessagesArriveWholeAsTextAndAsBinary() {
        try (NodeProcess client = client(shepherd, "/")) {
            open(client, 2);

            assertThat(client.command("send all text 1048576", STEP).number("ok")).isEqualTo(2);
            assertThat(client.command("send all binary 1048576", STEP).number("ok")).isEqualTo(2);
            assertThat(client.events("echo")).hasSize(4).allMatch(echo -> echo.json().path("same").asBoolean()
                    && echo.number("bytes") == 1048576);
        }
    }

    @Test
    void binaryFramesOfEveryLengthEncodingArriveUnchanged() {
        try (NodeProcess client = client(shepherd, "/")) {
            open(client, 2);
            // RFC 6455 §5.2: 7-bit lengths up to 125, 16-bit from 126 to 65535, 64-bit from 65536.
            for (int bytes : new int[] {0, 1, 125, 126, 65535, 65536}) {
                assertThat(client.command("send all binary " + bytes, STEP).number("ok")).as(bytes + " bytes").isEqualTo(2);
            }
            assertThat(client.events("echo")).hasSize(12)
                    .allMatch(echo -> echo.json().path("same").asBoolean() && echo.text("kind").equals("binary"));
        }
    }

    @Test
    void pingsAreAnsweredWithTheirPayloadThroughTheTunnel() {
        try (NodeProcess client = client(shepherd, "/")) {
            open(client, 4);

            assertThat(client.command("ping all", STEP).number("ok")).isEqualTo(4);
            assertThat(client.events("pong")).hasSize(4).allMatch(pong -> pong.json().path("same").asBoolean());
        }
    }

    @Test
    void handshakeTheWorkerRefusesReachesTheClientAsAnOrdinaryResponse() {
        try (NodeProcess client = client(shepherd, "/refuse")) {
            assertThat(client.command("open 1", STEP).number("failed")).isEqualTo(1);
            assertThat(client.events("failed")).singleElement().satisfies(failed -> assertThat(failed.number("status")).isEqualTo(403));
        }
        String response = RawHttp.exchange(shepherd.proxyPort(), "GET /refuse HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                + "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
        assertThat(response).startsWith("HTTP/1.1 403").endsWith("refused");
    }

    @Test
    void upgradeToH2cIsNeverForwardedAndTheRequestIsServedAsPlainHttp() {
        // The worker answers a forwarded h2c upgrade with 400 (NodeFixturesIntegrationTests); served plainly it is 200.
        String response = RawHttp.exchange(shepherd.proxyPort(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, "
                + "HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");

        assertThat(RawHttp.status(response)).isEqualTo(200);
        assertThat(response).contains("\"pid\":");
    }

    @Test
    void upgradeToAProtocolNotListedIsNotForwarded() {
        String response = RawHttp.exchange(shepherd.proxyPort(), "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n"
                + "Upgrade: example-protocol\r\n\r\n");

        assertThat(RawHttp.status(response)).as("fleet.proxy.upgrade-protocols lists only websocket").isEqualTo(200);
    }

    @Test
    void plainRequestsBesideOpenTunnelsStillAlternateBetweenWorkers() {
        try (NodeProcess client = client(shepherd, "/")) {
            open(client, 3);
            Set<String> answeredBy = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = shepherd.get("/");
                assertThat(response.statusCode()).isEqualTo(200);
                answeredBy.add(response.body());
            }
            assertThat(answeredBy).as("per-request round-robin").hasSize(2);
        }
    }

    @Test
    void killedWorkersTunnelsAreClosedAtOnceAndTheOtherWorkersStayOpen() throws Exception {
        try (RunningShepherd own = twoEchoWorkers("--fleet.restart.initial-backoff=10s");
             NodeProcess client = client(own, "/")) {
            open(client, 10);
            long victim = own.readyPids().get(0);
            long victimsClients = openPerWorker(client).get(victim);
            long killed = System.currentTimeMillis();

            ProcessHandle.of(victim).orElseThrow().destroyForcibly();

            await().atMost(STEP).until(() -> client.events("close").size() == victimsClients);
            assertThat(client.events("close")).allSatisfy(close -> {
                assertThat(close.number("pid")).isEqualTo(victim);
                assertThat(close.at() - killed).as("ms from the kill to the client's close").isLessThan(1000);
            });
            assertThat(client.command("ping all", STEP).number("ok")).as("the other worker's tunnels").isEqualTo(10 - victimsClients);
        }
    }

    @Test
    void restartedWorkerGetsNoNewTunnelAndItsTunnelsEndWithGoingAwayWithinTheTunnelDrainTimeout() throws Exception {
        try (RunningShepherd own = twoEchoWorkers("--fleet.proxy.tunnel.drain-timeout=2s");
             NodeProcess client = client(own, "/")) {
            open(client, 10);
            WorkerSnapshot draining = own.snapshot().workers().get(0);
            long drainingClients = openPerWorker(client).get(draining.pid());

            assertThat(own.admin("POST", "/fleet/workers/" + draining.id() + "/restart", null).statusCode()).isEqualTo(202);
            FleetEvent drainingEvent = awaitEvent(own, FleetEvent.Type.DRAINING, draining.pid());
            open(client, 10);

            assertThat(client.events("open").subList(10, 20)).as("tunnels opened while the worker drains")
                    .noneMatch(open -> open.number("pid") == draining.pid());
            await().atMost(STEP).until(() -> client.events("close").size() == drainingClients);
            long drainStart = drainingEvent.at().toEpochMilli();
            assertThat(client.events("close")).allSatisfy(close -> {
                assertThat(close.number("pid")).isEqualTo(draining.pid());
                assertThat(close.number("code")).as("Going Away").isEqualTo(1001);
                assertThat(close.at() - drainStart).as("ms from DRAINING to the close").isBetween(0L, 3000L);
            });
            FleetEvent stopping = awaitEvent(own, FleetEvent.Type.STOPPING, draining.pid());
            assertThat(stopping.at().toEpochMilli()).as("the stop signal comes after the last tunnel closed")
                    .isGreaterThanOrEqualTo(client.events("close").stream().mapToLong(Event::at).max().orElseThrow() - 50);
        }
    }

    @Test
    void idleTunnelIsClosedAtTheTunnelIdleTimeoutAndNoRequestTimeoutAppliesToTunnels() {
        try (RunningShepherd own = twoEchoWorkers("--fleet.proxy.tunnel.idle-timeout=2s",
                "--fleet.proxy.response-timeout=500ms", "--fleet.proxy.body-idle-timeout=500ms");
             NodeProcess client = client(own, "/")) {
            open(client, 2);
            long opened = client.events("open", open -> open.number("conn") == 2).get(0).at();

            assertThat(client.command("send 1 text 8 12 300", STEP).number("ok")).as("a message every 300 ms for 3.6 s")
                    .isEqualTo(1);

            assertThat(client.events("close", close -> close.number("conn") == 1)).as("the busy tunnel").isEmpty();
            await().atMost(STEP).until(() -> client.events("close").size() == 2);
            Event idle = client.events("close", close -> close.number("conn") == 2).get(0);
            assertThat(idle.at() - opened).as("ms the idle tunnel lived").isBetween(1900L, 5000L);
        }
    }

    @Test
    void masterShutdownClosesOpenTunnelsWithGoingAwayWithinTheDrainTimeout() {
        RunningShepherd own = twoEchoWorkers("--fleet.worker.drain-timeout=3s");
        List<ProcessHandle> workers = ProcessHandle.current().children().toList();
        try (NodeProcess client = client(own, "/")) {
            open(client, 6);
            long shutdown = System.currentTimeMillis();

            own.context().close();

            await().atMost(STEP).until(() -> client.events("close").size() == 6);
            assertThat(client.events("close")).allSatisfy(close -> {
                assertThat(close.number("code")).as("Going Away").isEqualTo(1001);
                assertThat(close.at() - shutdown).as("ms from the shutdown to the close").isLessThan(4000);
            });
        } finally {
            own.context().close();
        }
        RunningShepherd.assertNoChildProcess(workers);
    }

    private static RunningShepherd twoEchoWorkers(String... extra) {
        List<String> args = new ArrayList<>(List.of("--fleet.workers=2"));
        args.addAll(List.of(NodeModules.workerArguments("ws-echo-worker.js")));
        args.addAll(List.of(extra));
        return RunningShepherd.startReady(args.toArray(String[]::new));
    }

    static NodeProcess client(RunningShepherd master, String path) {
        return NodeProcess.start("ws-client.js", Map.of("OP_TIMEOUT_MS", "20000"), "ws://127.0.0.1:" + master.proxyPort() + path);
    }

    /** Opens {@code count} connections at once and checks that all opened, saying why those that did not failed. */
    static void open(NodeProcess client, int count) {
        assertThat(client.command("open " + count, STEP).number("ok")).as("connections opened; failures: %s",
                client.events("failed").stream().map(failed -> failed.text("message")).distinct().toList()).isEqualTo(count);
    }

    private static void openOneByOne(NodeProcess client, int count) {
        for (int i = 0; i < count; i++) {
            open(client, 1);
        }
    }

    /** Open connections per worker pid, as the client counts them: opened, not closed. */
    private static Map<Long, Long> openPerWorker(NodeProcess client) {
        Set<Long> closed = client.events("close").stream().map(close -> close.number("conn")).collect(Collectors.toSet());
        return client.events("open").stream().filter(open -> !closed.contains(open.number("conn")))
                .collect(Collectors.groupingBy(open -> open.number("pid"), Collectors.counting()));
    }

    private static void awaitNoConnections(RunningShepherd master) {
        await().atMost(STEP).until(() -> master.snapshot().workers().stream().allMatch(worker -> workerConnections(worker) == 0));
    }

    /** What the worker itself counts (GET /connections on its own port). */
    static long workerConnections(WorkerSnapshot worker) {
        String body = RawHttp.exchange(worker.port(), "GET /connections HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        return Long.parseLong(body.replaceAll("(?s).*\"open\":(\\d+).*", "$1"));
    }

    private static WorkerSnapshot worker(RunningShepherd master, long pid) {
        return master.snapshot().workers().stream().filter(worker -> worker.pid() == pid).findFirst().orElseThrow();
    }

    static FleetEvent awaitEvent(RunningShepherd master, FleetEvent.Type type, long pid) {
        await().atMost(STEP).until(() -> master.fleet().events().recent().stream()
                .anyMatch(event -> event.type() == type && event.pid() == pid));
        return master.fleet().events().recent().stream().filter(event -> event.type() == type && event.pid() == pid)
                .findFirst().orElseThrow();
    }
}
