package dev.shepherd.fleet;

import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Traffic;
import dev.shepherd.worker.WorkerState;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static dev.shepherd.testsupport.Tools.assumePython;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The seed's crash pattern — every worker serves, then exits at a random moment within a few seconds of its
 * start — run under steady traffic until the fleet has restarted workers a dozen times (about 12 s), with the restart policy's defaults except a shorter min-uptime
 * (the pattern's clock is shortened from 10 s to 3 s). Workers that served are restarted at once, so the fleet is
 * never without a READY worker for longer than one plain restart takes, and no request is lost.
 */
class CrashPatternIntegrationTests {

    /** Answers GETs; exits with code 1 at a random moment within CRASH_WITHIN_S seconds of its start. */
    static final String CRASHING_WORKER = """
            import os, random, threading
            from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

            class Handler(BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"

                def do_GET(self):
                    body = b"pid %d" % os.getpid()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args):
                    pass

            threading.Timer(random.uniform(0, float(os.environ["CRASH_WITHIN_S"])), lambda: os._exit(1)).start()
            ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """;

    /** How many restarts the run lasts for: two workers crash about once a second between them. */
    private static final int CRASHES = 12;
    private static final Duration MAX_RUN = Duration.ofSeconds(55);
    private static final Duration INITIAL_BACKOFF = Duration.ofMillis(100);

    @TempDir
    Path temp;

    @Test
    void workersThatServedAndCrashedAreRestartedAtOnceWithNoLostRequest() throws Exception {
        assumePython();
        Path script = Files.writeString(temp.resolve("crashing.py"), CRASHING_WORKER);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.worker.command=python3," + script,
                "--fleet.worker.environment.CRASH_WITHIN_S=3", "--fleet.restart.min-uptime=300ms",
                "--fleet.readiness.interval=20ms")) {
            ZeroReadyWatch watch = new ZeroReadyWatch();
            shepherd.fleet().onSnapshot(watch);
            try (Traffic traffic = Traffic.start(shepherd, "/", 4)) {
                await(CRASHES + " crashes under traffic").atMost(MAX_RUN).pollInterval(Duration.ofMillis(100))
                        .until(() -> restarts(shepherd) >= CRASHES);
                traffic.close();
                assertThat(traffic.failures()).as("lost requests").isEmpty();
                assertThat(traffic.ok()).isGreaterThan(250);
            } finally {
                shepherd.fleet().removeSnapshotListener(watch);
            }

            int restarts = restarts(shepherd);
            assertThat(restarts).as("crashes within %s", MAX_RUN).isGreaterThanOrEqualTo(10);
            assertThat(shepherd.fleet().events().recent()).noneMatch(event -> event.type() == FleetEvent.Type.CRASH_LOOP);
            assertThat(shepherd.snapshot().workers()).noneMatch(worker -> worker.state() == WorkerState.FAILED);
            long slowestStart = (long) shepherd.context().getBean(MeterRegistry.class).get("shepherd.worker.startup").timer()
                    .max(TimeUnit.MILLISECONDS);
            Duration plainRestart = INITIAL_BACKOFF.plusMillis(slowestStart).plusMillis(500);
            System.out.printf("Crash pattern: %d restarts, longest time with 0 READY %d ms, slowest start %d ms%n", restarts,
                    TimeUnit.NANOSECONDS.toMillis(watch.longestGapNanos()), slowestStart);
            assertThat(Duration.ofNanos(watch.longestGapNanos())).as("longest time with 0 READY workers; a plain restart "
                    + "takes the initial backoff plus at most %s ms of startup", slowestStart).isLessThanOrEqualTo(plainRestart);
        }
    }

    private static int restarts(RunningShepherd shepherd) {
        return shepherd.snapshot().workers().stream().mapToInt(WorkerSnapshot::restarts).sum();
    }

    /** The longest stretch with no READY worker, from the snapshots as they are published. */
    private static final class ZeroReadyWatch implements Consumer<FleetSnapshot> {

        private final AtomicLong longest = new AtomicLong();
        private long zeroSince = -1;

        @Override
        public void accept(FleetSnapshot snapshot) {
            long now = System.nanoTime();
            if (snapshot.ready().length == 0) {
                if (zeroSince < 0) {
                    zeroSince = now;
                }
            } else if (zeroSince >= 0) {
                longest.accumulateAndGet(now - zeroSince, Math::max);
                zeroSince = -1;
            }
        }

        long longestGapNanos() {
            long open = zeroSince;
            return open < 0 ? longest.get() : Math.max(longest.get(), System.nanoTime() - open);
        }
    }
}
