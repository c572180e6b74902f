package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.NodeProcess;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the WebSocket tests share: masters running the {@code ws} echo worker (ws-echo-worker.js), ws-client.js
 * drivers aimed at their proxy port, and what the workers and the fleet say about them.
 */
final class EchoFleet {

    /** The longest wait for one step: a command of a driver, a close, an event. */
    static final Duration STEP = Duration.ofSeconds(30);

    private EchoFleet() {
    }

    /** A master with two echo workers and {@code extra} arguments, all READY. */
    static RunningShepherd twoEchoWorkers(String... extra) {
        List<String> args = new ArrayList<>(List.of("--fleet.workers=2"));
        args.addAll(List.of(NodeModules.workerArguments("ws-echo-worker.js")));
        args.addAll(List.of(extra));
        return RunningShepherd.startReady(args.toArray(String[]::new));
    }

    /** A ws-client.js driver for {@code ws://<proxy>/<path>}; its steps give up after 20 s, before {@link #STEP}. */
    static NodeProcess client(RunningShepherd master, String path) {
        return NodeProcess.start("ws-client.js", Map.of("OP_TIMEOUT_MS", "20000"),
                "ws://127.0.0.1:" + master.proxyPort() + path);
    }

    /** Opens {@code count} connections at once and checks that all opened, saying why those that did not failed. */
    static void open(NodeProcess client, int count) {
        assertThat(client.command("open " + count, STEP).number("ok")).as("connections opened; failures: %s",
                client.events("failed").stream().map(failed -> failed.text("message")).distinct().toList())
                .isEqualTo(count);
    }

    /** Open connections per worker pid, as the client counts them: opened, not closed. */
    static Map<Long, Long> openPerWorker(NodeProcess client) {
        Set<Long> closed = client.events("close").stream().map(close -> close.number("conn")).collect(Collectors.toSet());
        return client.events("open").stream().filter(open -> !closed.contains(open.number("conn")))
                .collect(Collectors.groupingBy(open -> open.number("pid"), Collectors.counting()));
    }

    /** What the worker itself counts (GET /connections on its own port, not through the proxy). */
    static long workerConnections(WorkerSnapshot worker) {
        String body = RawHttp.exchange(worker.port(), "GET /connections HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        return Long.parseLong(body.replaceAll("(?s).*\"open\":(\\d+).*", "$1"));
    }

    /** Waits until the fleet has recorded {@code type} for {@code pid}, and returns the first such event. */
    static FleetEvent awaitEvent(RunningShepherd master, FleetEvent.Type type, long pid) {
        await().atMost(STEP).until(() -> master.fleet().events().recent().stream()
                .anyMatch(event -> event.type() == type && event.pid() == pid));
        return master.fleet().events().recent().stream().filter(event -> event.type() == type && event.pid() == pid)
                .findFirst().orElseThrow();
    }
}
