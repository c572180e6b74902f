package dev.shepherd.fleet;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Traffic;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Workers are replaced before they cause trouble, through the drain path, with no failed request. */
class RecyclingIntegrationTests {

    /** A Python worker (it starts in tens of milliseconds, so recycling is fast) that prints a line per request. */
    static final String PYTHON_WORKER = """
            import os
            from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

            class Handler(BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b"pid %d" % os.getpid()
                    print("GET %s" % self.path, flush=True)
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args):
                    pass

            ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """;

    @TempDir
    Path temp;

    @Test
    void workerLeakingPastMaxMemoryIsReplacedWithNoFailedRequest() throws Exception {
        // The heap is far above the limit: a leaker keeps serving (and leaking) until its replacement is READY, which
        // takes seconds on a loaded machine; a heap filled before that thrashes in GC and hangs its requests.
        String command = "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(EchoWorker.class, "-Xmx2g"));
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", command,
                "--fleet.worker.max-memory=160MB", "--fleet.worker.recycle-check-interval=200ms")) {
            Set<Long> leakers = new HashSet<>(shepherd.readyPids());
            try (Traffic traffic = Traffic.start(shepherd, "/leak?mb=1", 4)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.fleet().events().recent().stream()
                        .filter(event -> event.type() == FleetEvent.Type.RECYCLING).count() >= 2
                        && shepherd.readyPids().stream().noneMatch(leakers::contains));
                traffic.close();
                assertThat(traffic.failures()).as("failed requests").isEmpty();
                assertThat(traffic.ok()).isPositive();
            }
            assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.RECYCLING)
                    .first().satisfies(event -> assertThat(event.message()).contains("above fleet.worker.max-memory 160 MiB"));
            // Counted where an operator graphs restarts (a new user saw them only in the events).
            assertThat(recycles(shepherd, "memory")).isGreaterThanOrEqualTo(2);
            assertThat(recycles(shepherd, "requests")).isZero();
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(leakers)
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
        }
    }

    /**
     * max-memory is a ceiling, not only a cue: a worker that leaks on while its successor cannot get READY is stopped
     * at twice the limit, instead of growing until the host's OOM killer picks something (the master, maybe).
     */
    @Test
    void aWorkerPastTwiceMaxMemoryIsStoppedThoughItsReplacementIsNotReady() throws Exception {
        Path neverReady = temp.resolve("never-ready");
        String command = "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(EchoWorker.class, "-Xmx2g"));
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", command,
                "--fleet.worker.max-memory=150MB", "--fleet.worker.recycle-check-interval=200ms",
                "--fleet.worker.startup-timeout=5s", "--fleet.worker.environment.NEVER_READY_FILE=" + neverReady)) {
            long leaker = shepherd.readyPids().get(0);
            Files.createFile(neverReady);
            AtomicInteger leaks = new AtomicInteger();
            // 20 MB a request, at most 40 of them, until the leaker is gone.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
                boolean alive = ProcessHandle.of(leaker).map(ProcessHandle::isAlive).orElse(false);
                if (alive && leaks.incrementAndGet() <= 40) {
                    shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/leak?mb=20"))
                            .timeout(Duration.ofSeconds(10)).build());
                }
                return !alive;
            });

            // Published at the end of the supervisor's step that signalled it, which the process may not outlive.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(shepherd.fleet().events().recent())
                    .anySatisfy(event -> assertThat(event.message()).contains("stopped: resident memory")
                            .contains("above twice fleet.worker.max-memory 150 MiB")));
            Files.delete(neverReady);
            shepherd.awaitReady(1);
        }
    }

    @Test
    void workersAreRecycledAfterMaxRequestsOneAtATime() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.worker.max-requests=40",
                "--fleet.worker.max-requests-jitter=20", "--fleet.worker.recycle-check-interval=100ms");
             Traffic traffic = Traffic.start(shepherd, "/", 4)) {
            Set<Long> first = new HashSet<>(shepherd.readyPids());
            await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.readyPids().size() == 2
                    && shepherd.readyPids().stream().noneMatch(first::contains));
            traffic.close();
            assertThat(traffic.failures()).as("failed requests").isEmpty();
            assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.RECYCLING)
                    .isNotEmpty().allSatisfy(event -> assertThat(event.message()).contains("fleet.worker.max-requests 40"));
            assertThat(recycles(shepherd, "requests")).isGreaterThanOrEqualTo(2);
            assertThat(recycles(shepherd, "memory")).isZero();
            assertThat(shepherd.context().getBean(MeterRegistry.class).find("shepherd.worker.restarts")
                    .tag("reason", "crash").counter()).as("there at 0 before any crash").isNotNull();
        }
    }

    /** {@code shepherd_worker_recycles_total{reason}}. */
    private static double recycles(RunningShepherd shepherd, String reason) {
        return shepherd.context().getBean(MeterRegistry.class).get("shepherd.worker.recycles").tag("reason", reason)
                .counter().count();
    }

    @Test
    void recyclingEveryThreeRequestsKeepsTheLogsOfOnlyTheNewestRetiredIdsAndNoNewMeters() throws Exception {
        Path script = Files.writeString(temp.resolve("worker.py"), PYTHON_WORKER);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.worker.command=python3," + script,
                "--fleet.worker.max-requests=3", "--fleet.worker.recycle-check-interval=20ms",
                "--fleet.readiness.interval=20ms", "--fleet.worker.retired-logs=3")) {
            // A request per look, not a flood: this worker closes every connection (HTTP/1.0), so a flood is a thread
            // and a connection per request, which starved the successors' startup on a busy host (a CI run timed out).
            List<String> failures = new CopyOnWriteArrayList<>();
            MeterRegistry registry = shepherd.context().getBean(MeterRegistry.class);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .until(() -> requestedAndNewestId(shepherd, failures) >= 8);
            Set<Meter.Id> meters = meterIds(registry);

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                    .until(() -> requestedAndNewestId(shepherd, failures) >= 16);

            assertThat(failures).as("failed requests").isEmpty();
            int newest = newestId(shepherd);
            List<Integer> withLogs = IntStream.rangeClosed(1, newest)
                    .filter(id -> shepherd.fleet().logs(id).isPresent()).boxed().toList();
            assertThat(withLogs).as("ids whose output is kept").hasSizeLessThanOrEqualTo(shepherd.snapshot().workers().size() + 3)
                    .allMatch(id -> id > newest - 8);
            Set<Meter.Id> added = meterIds(registry);
            added.removeAll(meters);
            assertThat(added).as("shepherd meters added by 8 more recycles").isEmpty();
            assertThat(shepherd.admin("GET", "/fleet/workers/1/logs", null).statusCode()).isEqualTo(404);
        }
    }

    /** Sends one GET through the proxy, noting anything but a 200, and returns the newest worker id. */
    private static int requestedAndNewestId(RunningShepherd shepherd, List<String> failures) {
        HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/"))
                .timeout(Duration.ofSeconds(10)).build());
        if (response.statusCode() != 200) {
            failures.add(response.statusCode() + " " + response.body());
        }
        return newestId(shepherd);
    }

    private static int newestId(RunningShepherd shepherd) {
        return shepherd.snapshot().workers().stream().mapToInt(WorkerSnapshot::id).max().orElse(0);
    }

    private static Set<Meter.Id> meterIds(MeterRegistry registry) {
        return new HashSet<>(registry.getMeters().stream().map(Meter::getId)
                .filter(id -> id.getName().startsWith("shepherd.")).toList());
    }
}
