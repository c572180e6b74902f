package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Traffic;
import dev.shepherd.worker.WorkerState;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client never sees a worker crash, hang, scale-down or redeploy, as long as one worker is READY. Tests that need
 * the same master share one ({@link OnDemoWorkers}, {@link OnEchoWorkers}): each starts from two READY workers and
 * counts restarts, generations and recorded requests from where it found them, so none depends on the others.
 */
class ZeroFailuresIntegrationTests {

    @TempDir
    Path temp;

    /** Two built-in demo workers: kills, a rolling reload and scaling under steady traffic. */
    @Nested
    class OnDemoWorkers {

        private static RunningShepherd shepherd;

        @BeforeAll
        static void start() {
            shepherd = RunningShepherd.startReady("--fleet.workers=2");
        }

        @AfterAll
        static void stop() {
            shepherd.close();
        }

        @BeforeEach
        void twoReadyWorkers() {
            restoreTwoWorkers(shepherd);
        }

        @Test
        void sigkillOfWorkersDuringSteadyTrafficLosesNoRequest() throws Exception {
            int restartsBefore = restarts(shepherd);
            try (Traffic traffic = Traffic.start(shepherd, "/", 8)) {
                for (int kill = 0; kill < 3; kill++) {
                    int before = traffic.ok();
                    await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > before + 50);
                    List<Long> ready = shepherd.readyPids();
                    long victim = ready.get(kill % ready.size());
                    ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
                    await().atMost(Duration.ofSeconds(15)).until(() -> !shepherd.readyPids().contains(victim)
                            && shepherd.readyPids().size() == 2);
                }
                int before = traffic.ok();
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > before + 50);
                traffic.close();
                assertThat(traffic.failures()).as("failed requests").isEmpty();
                assertThat(restarts(shepherd) - restartsBefore).as("restarts").isEqualTo(3);
            }
        }

        @Test
        void killingEveryWorkerAtOnceUnderLoadLosesNoRequest() throws Exception {
            Map<Integer, Integer> restartsBefore = shepherd.snapshot().workers().stream()
                    .collect(Collectors.toMap(WorkerSnapshot::id, WorkerSnapshot::restarts));
            try (Traffic traffic = Traffic.start(shepherd, "/", 8)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > 100);
                shepherd.readyPids().forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
                // Two JVMs starting at once beside the traffic and the other test forks.
                await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.snapshot().workers().stream()
                        .allMatch(worker -> worker.restarts() == restartsBefore.get(worker.id()) + 1
                                && worker.state() == WorkerState.READY));
                int before = traffic.ok();
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > before + 100);
                traffic.close();
                assertThat(traffic.failures()).as("failed requests").isEmpty();
            }
        }

        @Test
        void rollingReloadUnderLoadLosesNoRequestAndNeverDropsBelowDesired() throws Exception {
            long generation = shepherd.snapshot().workers().get(0).generation();
            AtomicInteger minReady = new AtomicInteger(Integer.MAX_VALUE);
            Consumer<FleetSnapshot> readyCount = snapshot -> minReady.accumulateAndGet(snapshot.ready().length, Math::min);
            try (Traffic traffic = Traffic.start(shepherd, "/", 8)) {
                Set<Long> oldPids = new HashSet<>(shepherd.readyPids());
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > 100);
                shepherd.fleet().onSnapshot(readyCount);

                HttpResponse<String> accepted = shepherd.admin("POST", "/fleet/reload", null);
                assertThat(accepted.statusCode()).isEqualTo(202);
                assertThat(shepherd.admin("POST", "/fleet/reload", null).statusCode()).isEqualTo(409);

                await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.snapshot().reload().state() == ReloadStatus.State.SUCCEEDED);
                shepherd.awaitReady(2);
                int before = traffic.ok();
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > before + 50);
                traffic.close();
                assertThat(traffic.failures()).as("failed requests").isEmpty();
                assertThat(shepherd.readyPids()).doesNotContainAnyElementsOf(oldPids);
                assertThat(minReady.get()).isGreaterThanOrEqualTo(2);
                assertThat(shepherd.snapshot().workers()).allMatch(worker -> worker.generation() == generation + 1);
            } finally {
                shepherd.fleet().removeSnapshotListener(readyCount);
            }
        }

        @Test
        void scalingUpAndDownUnderLoadLosesNoRequest() throws Exception {
            int first = shepherd.snapshot().workers().stream().filter(worker -> worker.index() == 0)
                    .findFirst().orElseThrow().id();
            try (Traffic traffic = Traffic.start(shepherd, "/", 8)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > 100);

                assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 4}").statusCode()).isEqualTo(202);
                shepherd.awaitReady(4);
                int before = traffic.ok();
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > before + 100);

                assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 1}").statusCode()).isEqualTo(202);
                await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().size() == 1);
                int after = traffic.ok();
                await().atMost(Duration.ofSeconds(10)).until(() -> traffic.ok() > after + 100);
                traffic.close();
                assertThat(traffic.failures()).as("failed requests").isEmpty();
                assertThat(shepherd.snapshot().workers().get(0).id()).as("the first worker stays").isEqualTo(first);
            }
        }
    }

    /**
     * Two echo workers that record every request they get in one file, emptied before each test: retries, replays
     * and streaming.
     */
    @Nested
    class OnEchoWorkers {

        private static final Path RECORD = recordFile();
        private static RunningShepherd shepherd;

        @BeforeAll
        static void start() {
            shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                    "--fleet.worker.environment.RECORD_FILE=" + RECORD, "--fleet.proxy.retry.backoff=400ms");
        }

        @AfterAll
        static void stop() throws IOException {
            closeAndDeleteRecord(shepherd, RECORD);
        }

        @BeforeEach
        void twoReadyWorkersAndAnEmptyRecord() throws IOException {
            twoReadyWorkersAndNoRecord(shepherd, RECORD);
        }

        @Test
        void postInFlightOnAKilledWorkerGets502AndIsNotReplayed() throws Exception {
            CompletableFuture<HttpResponse<String>> post = shepherd.http().sendAsync(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=5000"))
                    .POST(HttpRequest.BodyPublishers.ofString("order=1")).build(), HttpResponse.BodyHandlers.ofString());
            long handler = awaitRecordedPid(RECORD, "POST");

            ProcessHandle.of(handler).orElseThrow().destroyForcibly();

            HttpResponse<String> response = post.get();
            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(response.body()).contains("not retried because POST is not idempotent");
            shepherd.awaitReady(2);
            assertThat(Files.readAllLines(RECORD)).filteredOn(line -> line.contains("POST")).hasSize(1);
        }

        @Test
        void postWithIdempotencyKeyIsReplayedOnceOnAnotherWorkerAndSucceeds() throws Exception {
            CompletableFuture<HttpResponse<String>> post = shepherd.http().sendAsync(HttpRequest.newBuilder(shepherd.proxy("/slow?ms=5000"))
                    .header("Idempotency-Key", "order-42").POST(HttpRequest.BodyPublishers.ofString("order=42")).build(),
                    HttpResponse.BodyHandlers.ofString());
            long handler = awaitRecordedPid(RECORD, "POST");

            ProcessHandle.of(handler).orElseThrow().destroyForcibly();

            HttpResponse<String> response = post.get();
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("method=POST", "body=8").doesNotContain("pid=" + handler + "\n");
            List<String> posts = Files.readAllLines(RECORD).stream().filter(line -> line.contains("POST")).toList();
            assertThat(posts).hasSize(2);
            assertThat(posts.get(1)).doesNotStartWith(handler + " ");
        }

        @Test
        void attemptsAreBoundedAndALastRetryOnAWorkerThatFailedWaitsTheBackoff() throws Exception {
            long start = System.nanoTime();
            HttpResponse<String> response = shepherd.get("/hang-up");
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(response.body()).contains("after 3 attempts");
            List<String> attempts = Files.readAllLines(RECORD).stream().filter(line -> line.contains("/hang-up")).toList();
            assertThat(attempts).hasSize(3);
            assertThat(attempts.stream().map(line -> line.substring(0, line.indexOf(' '))).distinct())
                    .as("the first retry goes to the other worker").hasSize(2);
            assertThat(took).as("once both workers failed it, the third attempt waited for the backoff")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(400));
            assertThat(shepherd.readyPids()).as("workers that hang up are alive and stay in rotation").hasSize(2);
        }

        @Test
        void workerDyingBetweenResponseHeadAndBodyIsRetriedBecauseTheClientGotNothingYet() {
            WorkerSnapshot dying = shepherd.snapshot().workers().get(0);
            for (int i = 0; i < 2; i++) {
                HttpResponse<String> response = shepherd.get("/die-after-head?pid=" + dying.pid());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).contains("uri=/die-after-head").doesNotStartWith("pid=" + dying.pid() + "\n");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().workers().stream()
                    .anyMatch(worker -> worker.id() == dying.id() && worker.restarts() == dying.restarts() + 1
                            && worker.lastExit().code() == 1));
        }

        @Test
        void largePostReachesTheWorkerOnlyOnceTheClientHasSentItAll() throws Exception {
            try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                // Its first half is more than the 64 KB the proxy holds in memory: the rest waits in a file.
                int size = 200 * 1024;
                OutputStream out = socket.getOutputStream();
                out.write(("POST /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: " + size + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[size / 2]);
                out.flush();

                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> !Files.exists(RECORD)
                        || !Files.readString(RECORD).contains("head-received"));

                out.write(new byte[size / 2]);
                out.flush();
                String response = dev.shepherd.testsupport.RawHttp.readUntilClose(socket.getInputStream());
                assertThat(response).startsWith("HTTP/1.1 200").contains("body=" + size);
            }
        }

        static Path recordFile() {
            try {
                return Files.createTempDirectory("zero-failures").resolve("requests.log");
            } catch (IOException ex) {
                throw new IllegalStateException(ex);
            }
        }
    }

    /**
     * Echo workers behind a retry budget that allows nothing (0 % and 0 per second): the requests a worker's death
     * takes with it are retried all the same, while a worker that fails requests and lives on gets no retry.
     */
    @Nested
    class WithTheRetryBudgetSpent {

        private static final Path RECORD = OnEchoWorkers.recordFile();
        private static RunningShepherd shepherd;

        @BeforeAll
        static void start() {
            shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                    "--fleet.worker.environment.RECORD_FILE=" + RECORD, "--fleet.proxy.retry.budget-percent=0",
                    "--fleet.proxy.retry.min-per-second=0", "--fleet.proxy.retry.backoff=400ms");
        }

        @AfterAll
        static void stop() throws IOException {
            closeAndDeleteRecord(shepherd, RECORD);
        }

        @BeforeEach
        void twoReadyWorkersAndAnEmptyRecord() throws IOException {
            twoReadyWorkersAndNoRecord(shepherd, RECORD);
        }

        private double budgetExhausted(String outcome) {
            return shepherd.context().getBean(MeterRegistry.class)
                    .counter("shepherd.proxy.retry.budget.exhausted", "outcome", outcome).count();
        }

        @Test
        void requestsInFlightOnAWorkerThatDiesAreRetriedOnTheOtherOne() throws Exception {
            double retriedBefore = budgetExhausted("retried-after-exit");
            List<CompletableFuture<HttpResponse<String>>> gets = new java.util.ArrayList<>();
            for (int i = 0; i < 6; i++) {
                // Long enough to be still running when the kill comes, after the awaits below on a loaded host.
                HttpRequest slow = HttpRequest.newBuilder(shepherd.proxy("/slow?ms=5000&n=" + i)).build();
                gets.add(shepherd.http().sendAsync(slow, HttpResponse.BodyHandlers.ofString()));
            }
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> Files.exists(RECORD) && Files.readAllLines(RECORD).size() == 6);
            long victim = awaitRecordedPid(RECORD, "GET");
            long onVictim = Files.readAllLines(RECORD).stream().filter(line -> line.startsWith(victim + " ")).count();

            ProcessHandle.of(victim).orElseThrow().destroyForcibly();

            for (CompletableFuture<HttpResponse<String>> get : gets) {
                HttpResponse<String> response = get.get(20, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                assertThat(response.body()).doesNotStartWith("pid=" + victim + "\n");
            }
            assertThat(Files.readAllLines(RECORD)).as("each request the dead worker had is retried once")
                    .hasSize(6 + (int) onVictim);
            assertThat(budgetExhausted("retried-after-exit") - retriedBefore).isEqualTo(onVictim);
        }

        @Test
        void aWorkerThatHangsUpAndLivesGets502NamingTheBudgetOnceItsSurvivalIsKnown() throws Exception {
            double failedBefore = budgetExhausted("failed");
            long start = System.nanoTime();
            HttpResponse<String> response = shepherd.get("/hang-up");
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(response.statusCode()).isEqualTo(502);
            assertThat(response.body()).contains("after 1 attempt; not retried: the retry budget is spent");
            assertThat(Files.readAllLines(RECORD)).filteredOn(line -> line.contains("/hang-up")).hasSize(1);
            assertThat(took).as("it waited, at most the backoff, to learn whether the worker died")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(400));
            assertThat(budgetExhausted("failed") - failedBefore).isEqualTo(1);
            assertThat(shepherd.readyPids()).as("the worker that hung up is alive and in rotation").hasSize(2);
        }
    }

    @Test
    void stoppedWorkerIsDetectedByLivenessAndReplaced() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.liveness.interval=200ms",
                "--fleet.liveness.timeout=300ms", "--fleet.liveness.failure-threshold=2", "--fleet.worker.kill-timeout=500ms")) {
            WorkerSnapshot victim = shepherd.snapshot().workers().get(0);
            dev.shepherd.worker.Signals.send(victim.pid(), "STOP");

            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                WorkerSnapshot healed = shepherd.snapshot().workers().stream().filter(w -> w.id() == victim.id())
                        .findFirst().orElseThrow();
                assertThat(healed.pid()).isNotEqualTo(victim.pid());
                assertThat(healed.state()).isEqualTo(WorkerState.READY);
                assertThat(healed.lastExit().reason()).contains("liveness probe failed 2 times");
                // Not KILL after the kill timeout: the CONT that follows the stop signal lets it act on it.
                assertThat(healed.lastExit().signal()).isEqualTo("TERM");
            });
            assertThat(ProcessHandle.of(victim.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            for (int i = 0; i < 6; i++) {
                assertThat(shepherd.get("/").statusCode()).isEqualTo(200);
            }
        }
    }

    @Test
    void reloadWhoseNewWorkerNeverGetsReadyIsRolledBackAndTheOldWorkersKeepServing() throws Exception {
        Path notReady = temp.resolve("not-ready");
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.environment.NEVER_READY_FILE=" + notReady, "--fleet.worker.startup-timeout=3s")) {
            Set<Long> oldPids = new HashSet<>(shepherd.readyPids());
            Files.writeString(notReady, "new workers stay unready");

            assertThat(shepherd.admin("POST", "/fleet/reload", null).statusCode()).isEqualTo(202);

            await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().reload().state() == ReloadStatus.State.FAILED);
            assertThat(shepherd.snapshot().reload().reason()).contains("not READY within 3000 ms");
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().workers().size() == 2);
            assertThat(new HashSet<>(shepherd.readyPids())).isEqualTo(oldPids);
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = shepherd.get("/");
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(oldPids).anyMatch(pid -> response.body().contains("pid=" + pid + "\n"));
            }
            assertThat(shepherd.admin("GET", "/fleet", null).body()).contains("\"state\":\"FAILED\"", "not READY within");
        }
    }

    /** Back to two READY workers, whatever the test before left (a scale-down, a worker still restarting). */
    private static void restoreTwoWorkers(RunningShepherd shepherd) {
        if (shepherd.snapshot().desired() != 2) {
            assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 2}").statusCode()).isEqualTo(202);
        }
        shepherd.awaitReady(2);
    }

    /** Stops a master whose echo workers record requests in {@code record}, and deletes the record's directory. */
    private static void closeAndDeleteRecord(RunningShepherd shepherd, Path record) throws IOException {
        try {
            shepherd.close();
        } finally {
            Files.deleteIfExists(record);
            Files.deleteIfExists(record.getParent());
        }
    }

    /** Two READY workers and no record yet; the record's directory exists (a class run twice deleted it once). */
    private static void twoReadyWorkersAndNoRecord(RunningShepherd shepherd, Path record) throws IOException {
        restoreTwoWorkers(shepherd);
        Files.createDirectories(record.getParent());
        Files.deleteIfExists(record);
    }

    private static int restarts(RunningShepherd shepherd) {
        return shepherd.snapshot().workers().stream().mapToInt(WorkerSnapshot::restarts).sum();
    }

    private static long awaitRecordedPid(Path record, String method) {
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(record)
                && Files.readAllLines(record).stream().anyMatch(line -> line.contains(method)));
        try {
            String line = Files.readAllLines(record).stream().filter(l -> l.contains(method)).findFirst().orElseThrow();
            return Long.parseLong(line.substring(0, line.indexOf(' ')));
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
