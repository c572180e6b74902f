package dev.shepherd.proxy;

import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import dev.shepherd.testsupport.Traffic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Least-request and {@code fleet.worker.max-concurrency} with real workers: a busy worker gets nothing while
 * another is idle; a single-threaded worker never gets two requests at once, through a kill and a rolling reload,
 * and no request is lost, nor when the client of a request leaves while the worker works on it; a request no
 * worker frees up for in time gets 503 saying so.
 */
class BalancingIntegrationTests {

    @TempDir
    Path temp;

    @Test
    void leastRequestSendsNothingToAWorkerBusyWithASlowRequestWhileAnotherIsIdle() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.balancer=least-request")) {
            CompletableFuture<HttpResponse<String>> slow = shepherd.http().sendAsync(
                    // Busy until well after the 20 quick requests, which a loaded host can make take seconds.
                    HttpRequest.newBuilder(shepherd.proxy("/slow?ms=10000")).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(5)).until(() -> busyPid(shepherd) != 0);
            long busy = busyPid(shepherd);

            for (int i = 0; i < 20; i++) {
                HttpResponse<String> response = shepherd.get("/quick");
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).as("request %d", i).startsWith("pid=").doesNotStartWith("pid=" + busy + "\n");
            }
            assertThat(slow.orTimeout(30, TimeUnit.SECONDS).join().body()).startsWith("pid=" + busy + "\n");
        }
    }

    @Test
    void singleThreadedWorkersNeverGetTwoRequestsAtOnceAndNoneIsLostThroughAKillAndAReload() throws Exception {
        Path violations = temp.resolve("violations.log");
        try (RunningShepherd shepherd = startOneAtATime(violations, "--fleet.workers=2", "--fleet.worker.max-concurrency=1",
                "--fleet.proxy.balancer=least-request");
             Traffic traffic = Traffic.start(shepherd, "/work?ms=3", 12)) {
            awaitMore(traffic, 300);
            long victim = shepherd.readyPids().get(0);
            ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
            await().atMost(Duration.ofSeconds(20)).until(() -> !shepherd.readyPids().contains(victim)
                    && shepherd.readyPids().size() == 2);
            awaitMore(traffic, 300);
            shepherd.admin("POST", "/fleet/reload", null);
            await().atMost(Duration.ofSeconds(40)).until(() -> shepherd.snapshot().reload().state() == ReloadStatus.State.SUCCEEDED
                    && shepherd.readyPids().size() == 2 && shepherd.snapshot().workers().size() == 2);
            awaitMore(traffic, 300);
            traffic.close();

            assertThat(traffic.failures()).as("failed requests").isEmpty();
            assertThat(traffic.ok()).isGreaterThan(900);
            assertThat(Files.exists(violations) ? Files.readAllLines(violations) : List.of())
                    .as("requests a worker saw while it served another").isEmpty();
            assertThat(shepherd.snapshot().workers()).allSatisfy(worker -> assertThat(worker.inFlight()).isLessThanOrEqualTo(1));
        }
    }

    @Test
    void requestThatNoWorkerFreesUpForInTimeGets503SayingSo() {
        Path violations = temp.resolve("violations.log");
        try (RunningShepherd shepherd = startOneAtATime(violations, "--fleet.workers=1", "--fleet.worker.max-concurrency=1",
                "--fleet.proxy.queue-timeout=300ms")) {
            CompletableFuture<HttpResponse<String>> slow = shepherd.http().sendAsync(
                    HttpRequest.newBuilder(shepherd.proxy("/work?ms=3000")).build(), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(5)).until(() -> busyPid(shepherd) != 0);

            HttpResponse<String> refused = shepherd.get("/work?ms=1");

            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
            assertThat(refused.body()).contains("no READY worker had a free slot (fleet.worker.max-concurrency) within 300 ms");
            assertThat(slow.orTimeout(10, TimeUnit.SECONDS).join().statusCode()).isEqualTo(200);
            assertThat(shepherd.get("/work?ms=1").statusCode()).as("the slot is free again").isEqualTo(200);
        }
    }

    @Test
    void requestWhoseClientLeftKeepsItsSlotUntilTheWorkerIsDoneWithIt() throws Exception {
        Path violations = temp.resolve("violations.log");
        try (RunningShepherd shepherd = startOneAtATime(violations, "--fleet.workers=1", "--fleet.worker.max-concurrency=1")) {
            for (int i = 0; i < 3; i++) {
                try (Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                    client.getOutputStream().write("GET /work?ms=1500 HTTP/1.1\r\nHost: shepherd\r\n\r\n"
                            .getBytes(StandardCharsets.US_ASCII));
                    await().atMost(Duration.ofSeconds(5)).until(() -> busyPid(shepherd) != 0);
                }
                long left = System.nanoTime();
                // In flight for a stopping master's drain too, which would otherwise stop the worker mid-request.
                assertThat(shepherd.context().getBean(ProxyServer.class).inFlight()).isEqualTo(1);

                HttpResponse<String> next = shepherd.get("/work?ms=1");

                assertThat(next.statusCode()).isEqualTo(200);
                assertThat(Duration.ofNanos(System.nanoTime() - left)).as("the next request waited for the worker")
                        .isGreaterThan(Duration.ofMillis(500));
            }
            assertThat(Files.exists(violations) ? Files.readAllLines(violations) : List.of())
                    .as("requests the worker saw while it served another").isEmpty();
            await().atMost(Duration.ofSeconds(5)).until(() -> busyPid(shepherd) == 0
                    && shepherd.context().getBean(ProxyServer.class).inFlight() == 0);
        }
    }

    /**
     * Node's HTTP server ends a connection on a FIN at once, while an asynchronous handler still runs: a half-close
     * on the client's leaving freed the slot as early as a close (found by an attacking helper).
     */
    @Test
    void asynchronousNodeHandlerWhoseClientLeftKeepsItsSlotUntilItAnswers() throws Exception {
        Tools.assumeNode();
        Path script = temp.resolve("async.js");
        Files.writeString(script, """
                const http = require('http');
                let active = 0, overlaps = 0;
                http.createServer((req, res) => {
                  if (req.url === '/health') return res.end('ok');
                  if (req.url === '/overlaps') return res.end(String(overlaps));
                  if (++active > 1) overlaps++;
                  const ms = Number(new URL(req.url, 'http://x').searchParams.get('ms') || 1);
                  setTimeout(() => { active--; res.end('done'); }, ms);
                }).listen(Number(process.env.PORT), '127.0.0.1');
                """);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.worker.max-concurrency=1",
                "--fleet.worker.command=node," + script)) {
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                client.getOutputStream().write("GET /work?ms=3000 HTTP/1.1\r\nHost: shepherd\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                await().atMost(Duration.ofSeconds(5)).until(() -> busyPid(shepherd) != 0);
            }
            long left = System.nanoTime();

            assertThat(shepherd.get("/work?ms=1").statusCode()).isEqualTo(200);

            assertThat(Duration.ofNanos(System.nanoTime() - left)).as("the next request waited for the handler")
                    .isGreaterThan(Duration.ofMillis(700));
            assertThat(shepherd.get("/overlaps").body()).as("requests the worker had at once, beyond one").isEqualTo("0");
        }
    }

    private static RunningShepherd startOneAtATime(Path violations, String... settings) {
        List<String> args = new ArrayList<>(List.of(settings));
        args.add("--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(OneAtATimeWorker.class)));
        args.add("--fleet.worker.environment.VIOLATIONS_FILE=" + violations);
        return RunningShepherd.startReady(args.toArray(String[]::new));
    }

    /** The pid of a READY worker with a request in flight, 0 when none has. */
    private static long busyPid(RunningShepherd shepherd) {
        return shepherd.snapshot().workers().stream().filter(worker -> worker.inFlight() > 0)
                .mapToLong(WorkerSnapshot::pid).findFirst().orElse(0);
    }

    private static void awaitMore(Traffic traffic, int requests) {
        int before = traffic.ok();
        await().atMost(Duration.ofSeconds(20)).until(() -> traffic.ok() >= before + requests);
    }
}
