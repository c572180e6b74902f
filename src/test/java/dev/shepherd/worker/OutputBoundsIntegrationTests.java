package dev.shepherd.worker;

import dev.shepherd.testsupport.MasterProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static dev.shepherd.testsupport.Tools.assumePython;
import static org.awaitility.Awaitility.await;

/**
 * A worker that writes 128 MiB without a newline and then a flood of lines cannot take the master down: the master
 * runs on the README's recommended small heap (-Xmx128m, exit on OutOfMemoryError), keeps serving, its heap
 * after a full GC stays under {@link #HEAP_BOUND}, and its own log gets only the rate limit's lines of the flood;
 * all this with no limit on how fast its output is read ({@code fleet.worker.output-max-rate=0}).
 */
class OutputBoundsIntegrationTests {

    /** The master's heap after a GC, with two workers and one full log buffer: measured ~30 MiB. */
    static final long HEAP_BOUND = 64L << 20;

    /** Lines of one worker process per 30 s in the master's log, lower than the default so the flood passes it. */
    static final int LOG_BURST = 1000;

    /** Worker 1 writes 128 MiB with no newline, then 100,000 lines; every worker answers GETs with its id. */
    static final String FLOODING_WORKER = """
            import os, sys, threading, time
            from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

            WORKER = os.environ["SHEPHERD_WORKER_ID"]

            class Handler(BaseHTTPRequestHandler):
                def do_GET(self):
                    body = ("worker %s pid %d\\n" % (WORKER, os.getpid())).encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                def log_message(self, *args):
                    pass

            def flood():
                out = sys.stdout.buffer
                out.write(b"x" * (128 << 20))
                out.flush()
                time.sleep(0.5)
                for i in range(100000):
                    out.write(b"flood line %d %s\\n" % (i, b"y" * 80))
                out.write(b"flood done\\n")
                out.flush()

            if WORKER == "1":
                threading.Thread(target=flood, daemon=True).start()
            ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """;

    @TempDir
    Path temp;

    @Test
    void hugeLineAndFloodOfLinesLeaveTheMasterUpServingAndWithinItsHeap() throws Exception {
        assumePython();
        Path script = Files.writeString(temp.resolve("flood.py"), FLOODING_WORKER);
        try (MasterProcess master = MasterProcess.startReady(MasterProcess.recommendedFlags(), 2,
                "--fleet.worker.command=python3," + script, "--fleet.liveness.interval=1s",
                "--fleet.worker.log-rate-limit-burst=" + LOG_BURST, "--fleet.worker.output-max-rate=0")) {
            HttpClient http = HttpClient.newHttpClient();
            URI proxy = URI.create("http://127.0.0.1:" + master.proxyPort() + "/");
            List<Integer> statuses = new ArrayList<>();
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
                statuses.add(http.send(HttpRequest.newBuilder(proxy).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
                return logsOfWorkerOne(master).contains("flood done");
            });

            assertThat(master.isAlive()).as("the master survived").isTrue();
            assertThat(statuses).as("answers through the proxy while worker 1 flooded").isNotEmpty().containsOnly(200);
            String logs = logsOfWorkerOne(master);
            assertThat(logs.contains("flood line 99999")).as("the newest lines are kept").isTrue();
            assertThat(logs.contains("flood line 90000")).as("the oldest lines are gone").isFalse();
            // The master's console is written by a thread of its own: its last lines may come a moment later.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(cutLine(master.output())).as("the huge line in the master's log")
                        .isEqualTo("x".repeat(8192) + "… [cut: 128 MiB line]");
                String masterLog = master.output();
                assertThat(masterLog).contains("wrote more than " + LOG_BURST + " lines (or " + LOG_BURST + " KiB) in 30 s");
                // The flood takes well under a second, so one interval or two, not 100,000 lines (the 8 KiB line
                // before it counted 9 of the burst).
                assertThat(Pattern.compile("\\] flood line ").matcher(masterLog).results().count())
                        .as("flood lines in the master's log").isBetween((long) LOG_BURST - 10, 2L * LOG_BURST);
            });
            long heap = master.heapUsedAfterGc();
            System.out.println("Master heap after GC: " + heap / 1024 + " KiB");
            assertThat(heap).as("heap after GC").isLessThan(HEAP_BOUND);
            assertThat(master.readyWorkerPids()).hasSize(2);
        }
    }

    private static String logsOfWorkerOne(MasterProcess master) throws IOException, InterruptedException {
        return master.admin("/fleet/workers/1/logs?lines=1000").body();
    }

    /** The line of x in the master's output, shortened when it is not what the test expects. */
    private static String cutLine(String output) {
        Matcher matcher = Pattern.compile("\\] (x+… \\[cut: [^\\]]+])").matcher(output);
        if (!matcher.find()) {
            return "(none)";
        }
        String line = matcher.group(1);
        return line.length() <= 8192 + 40 ? line : line.substring(0, 100) + "... (" + line.length() + " chars)";
    }
}
