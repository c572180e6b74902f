package dev.shepherd.proxy;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A draining worker keeps its sticky requests through the first half of its drain, with real workers: a scale-down
 * drains the worker of index 1 while a slow request keeps it busy; its sticky client still reaches it, other clients
 * do not, and once the slow request is done the drain ends and the client moves once.
 */
class StickySessionsDrainIntegrationTests {

    @Test
    void aDrainingWorkerKeepsItsStickyClientsUntilItsDrainEnds() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.sticky.cookie=SRV", "--fleet.worker.drain-timeout=30s")) {
            long draining = pidOfIndex(shepherd, 1);
            long staying = pidOfIndex(shepherd, 0);
            String cookie = cookieOf(shepherd, draining);
            CompletableFuture<HttpResponse<String>> slow = shepherd.http().sendAsync(request(shepherd,
                    "/slow?ms=4000", cookie), HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> inFlight(shepherd, draining) == 1);

            shepherd.fleet().scale(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> state(shepherd, draining) == WorkerState.DRAINING);
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> sticky = get(shepherd, "/hello", cookie);
                assertThat(pid(sticky)).as("sticky request %d while draining", i).isEqualTo(draining);
                assertThat(sticky.headers().allValues("set-cookie")).isEmpty();
                assertThat(pid(get(shepherd, "/hello", null))).as("a new client while draining").isEqualTo(staying);
            }
            assertThat(state(shepherd, draining)).as("the slow request still holds the drain").isEqualTo(WorkerState.DRAINING);

            assertThat(slow.get(20, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> ProcessHandle.of(draining).isEmpty()
                    || !ProcessHandle.of(draining).get().isAlive());
            HttpResponse<String> moved = get(shepherd, "/hello", cookie);
            assertThat(pid(moved)).isEqualTo(staying);
            assertThat(moved.headers().allValues("set-cookie")).hasSize(1);
        }
    }

    /**
     * Found by an attacking helper (2026-12-04): under steady sticky traffic the worker never ran out of requests, so
     * every scale-down ended at drain-timeout with requests in flight, and a POST got a 502. Now its sticky requests
     * stop at half the drain: those in flight finish, the drain ends early, and nothing is lost.
     */
    @Test
    void aStreamOfStickyPostsMovesOnAtHalfTheDrainAndNoneIsCut() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.sticky.cookie=SRV", "--fleet.worker.drain-timeout=6s")) {
            long draining = pidOfIndex(shepherd, 1);
            long staying = pidOfIndex(shepherd, 0);
            String cookie = cookieOf(shepherd, draining);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.List<Integer> statuses = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
            java.util.List<CompletableFuture<Void>> clients = new java.util.ArrayList<>();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(6);
            Duration drained;
            try {
                for (int client = 0; client < 6; client++) {
                    // Six clients of the session, each always with a 400 ms POST in flight, each started once the last
                    // one's is, so that they run apart: the worker is never idle, and only the half-drain rule can end
                    // its drain before the timeout.
                    int started = client + 1;
                    clients.add(CompletableFuture.runAsync(() -> {
                        while (!stop.get()) {
                            HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=400"))
                                    .timeout(Duration.ofSeconds(20)).header("Cookie", cookie)
                                    .POST(HttpRequest.BodyPublishers.ofString("x")).build());
                            statuses.add(response.statusCode());
                        }
                    }, pool));
                    await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                            .until(() -> inFlight(shepherd, draining) >= started);
                }

                long scaled = System.nanoTime();
                shepherd.fleet().scale(1);
                await().atMost(Duration.ofSeconds(15)).until(() -> ProcessHandle.of(draining).isEmpty()
                        || !ProcessHandle.of(draining).get().isAlive());
                drained = Duration.ofNanos(System.nanoTime() - scaled);
                int before = statuses.size();
                await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() >= before + 6);
                stop.set(true);
                CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(20, java.util.concurrent.TimeUnit.SECONDS);
            } finally {
                stop.set(true);
                pool.shutdownNow();
            }

            assertThat(statuses).as("every POST of the session").isNotEmpty().containsOnly(200);
            assertThat(drained).as("the drain ended at half its timeout, once the requests in flight were done")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(2900)).isLessThan(Duration.ofMillis(5500));
            HttpResponse<String> moved = get(shepherd, "/hello", cookie);
            assertThat(pid(moved)).isEqualTo(staying);
        }
    }

    /** The sticky cookie of a new client that the balancer gave to the worker {@code pid}. */
    private static String cookieOf(RunningShepherd shepherd, long pid) {
        while (true) {
            HttpResponse<String> response = get(shepherd, "/hello", null);
            if (pid(response) == pid) {
                String line = response.headers().firstValue("set-cookie").orElseThrow();
                return line.substring(0, line.indexOf(';'));
            }
        }
    }

    private static long pidOfIndex(RunningShepherd shepherd, int index) {
        return shepherd.snapshot().workers().stream().filter(worker -> worker.index() == index).findFirst()
                .orElseThrow().pid();
    }

    private static WorkerState state(RunningShepherd shepherd, long pid) {
        return shepherd.snapshot().workers().stream().filter(worker -> worker.pid() == pid).map(WorkerSnapshot::state)
                .findFirst().orElse(WorkerState.EXITED);
    }

    private static int inFlight(RunningShepherd shepherd, long pid) {
        return shepherd.snapshot().workers().stream().filter(worker -> worker.pid() == pid)
                .mapToInt(WorkerSnapshot::inFlight).sum();
    }

    private static HttpRequest request(RunningShepherd shepherd, String path, String cookie) {
        HttpRequest.Builder request = HttpRequest.newBuilder(shepherd.proxy(path)).timeout(Duration.ofSeconds(20));
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        return request.build();
    }

    private static HttpResponse<String> get(RunningShepherd shepherd, String path, String cookie) {
        HttpResponse<String> response = shepherd.send(request(shepherd, path, cookie));
        assertThat(response.statusCode()).isEqualTo(200);
        return response;
    }

    private static long pid(HttpResponse<String> response) {
        String body = response.body();
        return Long.parseLong(body.substring("pid=".length(), body.indexOf('\n')));
    }
}
