package dev.shepherd.fleet;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.FreePorts;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * Found by a new user's attack: three workers that never get READY, or never stay, each said only to refuse
 * connections or to have exited on its own. Each is told why, with real processes, as soon as it can be seen.
 */
@EnabledOnOs(OS.LINUX)
@ExtendWith(OutputCaptureExtension.class)
class StartupHintsIntegrationTests {

    /** What Node 17 and later do with listen(PORT, 'localhost') where localhost resolves to ::1 first. */
    private static final String IPV6_LOOPBACK_ONLY = "import os, socket, http.server\n"
            + "class S(http.server.HTTPServer):\n"
            + "    address_family = socket.AF_INET6\n"
            + "S(('::1', int(os.environ['PORT'])), http.server.BaseHTTPRequestHandler).serve_forever()\n";

    /**
     * With cgroups, the worker's own process listens; without, a child of a shell that stays its parent does, as
     * {@code npm start}'s node: found among the descendants the periodic /proc scan remembers.
     */
    @ParameterizedTest(name = "cgroups {0}")
    @ValueSource(booleans = {true, false})
    void aWorkerListeningOnIpv6LoopbackOnlyIsToldSoAtOnceAndAtItsStartupTimeout(boolean cgroups, CapturedOutput output,
                                                                               @TempDir Path directory) throws IOException {
        assumeThat(ipv6Loopback()).as("this machine has ::1").isTrue();
        Path app = Files.writeString(directory.resolve("v6.py"), IPV6_LOOPBACK_ONLY);
        String command = cgroups ? "--fleet.worker.command=python3," + app
                : "--fleet.worker.command=sh,-c,python3 " + app + "; exit 1";
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1", command,
                "--fleet.worker.use-cgroups=" + cgroups, "--fleet.worker.startup-timeout=8s")) {
            String hint = "; its processes listen on \\[::1]:(\\d+) \\(IPv6 loopback\\) only, not on 127\\.0\\.0\\.1, "
                    + "where Shepherd connects: a worker must listen on 127\\.0\\.0\\.1 or on every address \\(Node: "
                    + "listen\\(PORT\\) or listen\\(PORT, '127\\.0\\.0\\.1'\\), not 'localhost', which may resolve to "
                    + "::1\\)";

            await().atMost(Duration.ofSeconds(7)).untilAsserted(() -> {
                WorkerSnapshot worker = shepherd.snapshot().workers().get(0);
                assertThat(worker.lastExit()).as("before its startup timeout").isNull();
                assertThat(worker.reason()).matches("readiness probe: GET /health failed: Connection refused" + hint);
                assertThat(portIn(worker.reason(), hint)).isEqualTo(worker.port());
                assertThat(output.getOut()).containsPattern("Worker 1 \\(pid " + worker.pid() + "\\) is not READY: its "
                        + "readiness probe GET /health failed: Connection refused" + hint);
            });
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                WorkerSnapshot worker = shepherd.snapshot().workers().get(0);
                assertThat(worker.lastExit()).isNotNull();
                assertThat(worker.lastExit().reason()).matches("not READY within 8000 ms \\(last readiness probe: GET "
                        + "/health failed: Connection refused\\)" + hint);
            });
        }
    }

    /**
     * An app with listen(3000) written in, as under PM2's cluster mode: told in {@code ls} at once, in the log once it
     * has been starting for {@link HealthChecks#LISTEN_HINT_HOLD}, and not only at its startup timeout.
     */
    @Test
    void aWorkerListeningOnAPortOfItsOwnIsToldSoBeforeItsStartupTimeout(CapturedOutput output) {
        int own = FreePorts.unassigned();
        List<String> command = new ArrayList<>(List.of("env", "PORT=" + own));
        command.addAll(RunningShepherd.javaCommand(EchoWorker.class));
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", command), "--fleet.worker.startup-timeout=20s")) {
            String hint = "; its processes listen on " + own + ", not on its PORT %d: a worker must listen on the port "
                    + "Shepherd gives it in the PORT variable";

            await().atMost(Duration.ofSeconds(19)).untilAsserted(() -> {
                WorkerSnapshot worker = shepherd.snapshot().workers().get(0);
                assertThat(worker.lastExit()).as("before its startup timeout").isNull();
                assertThat(worker.reason()).isEqualTo("readiness probe: GET /health failed: Connection refused"
                        + hint.formatted(worker.port()));
                assertThat(output.getOut()).contains("Worker 1 (pid " + worker.pid() + ") is not READY: its readiness "
                        + "probe GET /health failed: Connection refused" + hint.formatted(worker.port()));
            });
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(output.getOut())
                    .containsPattern("not READY within 20000 ms \\(last readiness probe: GET /health failed: [^)]+\\); "
                            + "its processes listen on " + own + ", not on its PORT \\d+: a worker must listen on the "
                            + "port Shepherd gives it in the PORT variable"));
        }
    }

    /** Forks, leaves its session, forks again and exits 0, as a daemon does: its child serves on. */
    private static final String DAEMONIZING = "import os, time\n"
            + "if os.fork() > 0:\n"
            + "    print('parent exiting, child serves', flush=True); os._exit(0)\n"
            + "os.setsid()\n"
            + "if os.fork() > 0:\n"
            + "    os._exit(0)\n"
            + "time.sleep(3600)\n";

    /** Its tree found by its cgroup, or without one by the marker in the environment its daemon inherited. */
    @ParameterizedTest(name = "cgroups {0}")
    @ValueSource(booleans = {true, false})
    void aWorkerThatForksIntoTheBackgroundAndExitsIsToldToStayInTheForeground(boolean cgroups, CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command[0]=python3", "--fleet.worker.command[1]=-c",
                "--fleet.worker.command[2]=" + DAEMONIZING, "--fleet.restart.initial-backoff=5s",
                "--fleet.worker.use-cgroups=" + cgroups)) {
            String left = "exited on its own while a process it started, pid (\\d+) \\(python3[^)]*\\), ran on, killed "
                    + "since with its tree: a worker must stay in the foreground, as under systemd's Type=simple, Docker "
                    + "or PM2, not fork into the background and exit \\(no --daemon, no trailing &\\)";

            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                WorkerSnapshot worker = shepherd.snapshot().workers().get(0);
                assertThat(worker.lastExit()).isNotNull();
                assertThat(worker.lastExit().reason()).matches(left);
                assertThat(output.getOut()).containsPattern("exited with code 0 after \\d+ ms: " + left);
            });
            long daemon = portIn(shepherd.snapshot().workers().get(0).lastExit().reason(), left);
            await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(daemon).map(ProcessHandle::isAlive)
                    .orElse(false), alive -> !alive);
        }
    }

    /** The number of {@code pattern}'s first group in {@code text}. */
    private static int portIn(String text, String pattern) {
        Matcher matcher = Pattern.compile(pattern).matcher(text);
        assertThat(matcher.find()).as(text).isTrue();
        return Integer.parseInt(matcher.group(1));
    }

    private static boolean ipv6Loopback() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            return true;
        } catch (IOException ex) {
            return false;
        }
    }
}
