package dev.shepherd.worker;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static dev.shepherd.testsupport.Tools.assumeNode;
import static dev.shepherd.testsupport.Tools.assumePython;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A worker that starts a child in a session of its own and then crashes leaves nothing behind: the child is gone
 * right after the crash, long before a liveness round, with cgroups and with the /proc fallback alike. Each worker
 * records its detached child's pid in PIDS_FILE; the first process crashes half a second after its start, its
 * replacement stays.
 */
class DetachedDescendantsIntegrationTests {

    /** The case: Node's detached, unref'd {@code sleep 300}, then a crash after 0.5 s. */
    static final String NODE_WORKER = """
            const http = require('http');
            const fs = require('fs');
            const { spawn } = require('child_process');
            const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
            child.unref();
            fs.appendFileSync(process.env.PIDS_FILE, child.pid + '\\n');
            http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
            if (!fs.existsSync(process.env.CRASHED_FILE)) {
              fs.writeFileSync(process.env.CRASHED_FILE, 'crashed');
              setTimeout(() => process.exit(1), 500);
            }
            """;

    /** A classic daemon: fork, setsid, fork again, the middle process exits, stdio to /dev/null; then the crash. */
    static final String PYTHON_WORKER = """
            import os, threading, time
            from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    with open(os.environ["PIDS_FILE"], "a") as pids:
                        pids.write("%d\\n" % os.getpid())
                    null = os.open(os.devnull, os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                    time.sleep(300)
                os._exit(0)
            os.wait()

            class Handler(BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

                def log_message(self, *args):
                    pass

            if not os.path.exists(os.environ["CRASHED_FILE"]):
                open(os.environ["CRASHED_FILE"], "w").close()
                threading.Timer(0.5, lambda: os._exit(1)).start()
            ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """;

    @TempDir
    Path temp;

    @ParameterizedTest(name = "cgroups allowed: {0}")
    @ValueSource(booleans = {true, false})
    void nodeWorkersDetachedChildDiesWithTheCrashedWorker(boolean useCgroups) throws Exception {
        assumeNode();
        Path script = Files.writeString(temp.resolve("server.js"), NODE_WORKER);
        runCrashOnce(useCgroups, "node," + script);
    }

    @ParameterizedTest(name = "cgroups allowed: {0}")
    @ValueSource(booleans = {true, false})
    void pythonWorkersSetsidDaemonDiesWithTheCrashedWorker(boolean useCgroups) throws Exception {
        assumePython();
        Path script = Files.writeString(temp.resolve("server.py"), PYTHON_WORKER);
        runCrashOnce(useCgroups, "python3," + script);
    }

    @ParameterizedTest(name = "cgroups allowed: {0}")
    @ValueSource(booleans = {true, false})
    void killDashNineOfTheMasterAlsoEndsDetachedChildren(boolean useCgroups) throws Exception {
        assumeNode();
        Path script = Files.writeString(temp.resolve("server.js"), NODE_WORKER);
        Path pids = temp.resolve("pids.txt");
        Path crashed = Files.writeString(temp.resolve("crashed"), "no crash this time");
        try (MasterProcess master = MasterProcess.startReady(2, "--fleet.worker.command=node," + script,
                "--fleet.worker.use-cgroups=" + useCgroups, "--fleet.readiness.path=/", "--fleet.liveness.path=/",
                "--fleet.worker.environment.PIDS_FILE=" + pids, "--fleet.worker.environment.CRASHED_FILE=" + crashed)) {
            // Each READY worker wrote its child's pid before it listened. More lines than workers are possible (a
            // worker replaced while the master started, a first master that lost its admin port): every child in the
            // file must be gone after the kill, and at least the two READY workers' children are alive before it.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(childPids(pids))
                    .as("pids of detached children alive before the kill").filteredOn(DetachedDescendantsIntegrationTests::alive)
                    .hasSizeGreaterThanOrEqualTo(2));

            master.killDashNine();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(childPids(pids))
                    .as("detached children left by the master").noneMatch(DetachedDescendantsIntegrationTests::alive));
        } finally {
            childPids(pids).forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        }
    }

    private void runCrashOnce(boolean useCgroups, String command) throws Exception {
        Path pids = temp.resolve("pids.txt");
        List<Long> detached = new ArrayList<>();
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1", "--fleet.worker.command=" + command,
                "--fleet.worker.use-cgroups=" + useCgroups, "--fleet.readiness.path=/", "--fleet.liveness.path=/",
                "--fleet.worker.environment.PIDS_FILE=" + pids,
                "--fleet.worker.environment.CRASHED_FILE=" + temp.resolve("crashed"))) {
            await().atMost(Duration.ofSeconds(30)).until(() -> childPids(pids).size() >= 2
                    && shepherd.readyPids().size() == 1 && crashed(shepherd));
            detached.addAll(childPids(pids));
            long replacement = shepherd.readyPids().get(0);
            assertContainment(useCgroups, replacement);

            long first = detached.get(0);
            await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(alive(first))
                    .as("detached child %d of the crashed worker", first).isFalse());
            assertThat(alive(detached.get(1))).as("detached child of the running replacement").isTrue();
        } finally {
            Set<Long> all = new TreeSet<>(detached);
            all.addAll(childPids(pids));
            try {
                await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(all)
                        .as("detached children alive after the master stopped").noneMatch(DetachedDescendantsIntegrationTests::alive));
            } finally {
                all.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
            }
        }
    }

    private static boolean crashed(RunningShepherd shepherd) {
        return shepherd.fleet().events().recent().stream()
                .anyMatch(event -> event.type() == FleetEvent.Type.PROCESS_EXITED && event.message().contains("code 1"));
    }

    /** With cgroups allowed and a v2 hierarchy the master may write to (root here), the worker is in a group of its own. */
    private static void assertContainment(boolean useCgroups, long workerPid) throws IOException {
        boolean cgroupsHere = Cgroups.ownGroup().map(dir -> Files.isWritable(dir.resolve("cgroup.procs"))).orElse(false);
        String cgroup = Files.readAllLines(Path.of("/proc", Long.toString(workerPid), "cgroup")).stream()
                .filter(line -> line.startsWith("0::")).findFirst().orElse("");
        if (useCgroups && cgroupsHere) {
            assertThat(cgroup).as("the worker's cgroup").matches("0::.*/shepherd-\\d+-\\d+/worker-1-\\d+");
        } else {
            assertThat(cgroup).as("the worker's cgroup").doesNotContain("shepherd-");
        }
    }

    private static List<Long> childPids(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        return Files.readAllLines(file).stream().filter(line -> !line.isBlank()).map(Long::parseLong).toList();
    }

    /** Running: a killed orphan stays a zombie until PID 1 reaps it, maybe after the test's wait (as in ProcessTree's). */
    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !ProcFs.exitedNotReaped(pid);
    }
}
