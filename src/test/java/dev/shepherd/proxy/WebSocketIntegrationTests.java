package dev.shepherd.proxy;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.NodeProcess;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static dev.shepherd.proxy.EchoFleet.STEP;
import static dev.shepherd.proxy.EchoFleet.client;
import static dev.shepherd.proxy.EchoFleet.open;
import static dev.shepherd.proxy.EchoFleet.openPerWorker;
import static dev.shepherd.proxy.EchoFleet.twoEchoWorkers;
import static dev.shepherd.proxy.EchoFleet.workerConnections;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

/**
 * WebSockets through a real master with the {@code ws} package on both sides (ws-echo-worker.js, ws-client.js):
 * echo, placement by open tunnels, big and binary messages, pings, refused and forbidden upgrades. The tests share
 * one master with two workers and close their clients when they end; what a crash, a drain, an idle timeout and a
 * shutdown do to open tunnels is in {@link WebSocketLifecycleIntegrationTests}.
 */
class WebSocketIntegrationTests {

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
        // The client's connection may stay open after an ordinary response: read for 3 s, whatever ends first.
        RawClient.Received response = RawClient.exchange(shepherd.proxyPort(), "GET /refuse HTTP/1.1\r\nHost: a\r\n"
                + "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 3000);
        assertThat(response.head()).startsWith("HTTP/1.1 403");
        assertThat(response.body()).isEqualTo("refused");
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
        assertThat(response).contains("\"pid\":");
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

    private static void openOneByOne(NodeProcess client, int count) {
        for (int i = 0; i < count; i++) {
            open(client, 1);
        }
    }

    /**
     * No connection left at the workers nor a tunnel counted by the proxy: the proxy's counts (which place new
     * tunnels) can lag the workers' view of a previous test's closes, and a leftover count skews the next spread.
     */
    private static void awaitNoConnections(RunningShepherd master) {
        await().atMost(STEP).until(() -> master.snapshot().workers().stream().allMatch(worker -> workerConnections(worker) == 0)
                && master.snapshot().tunnels() == 0);
    }

    private static WorkerSnapshot worker(RunningShepherd master, long pid) {
        return master.snapshot().workers().stream().filter(worker -> worker.pid() == pid).findFirst().orElseThrow();
    }
}
