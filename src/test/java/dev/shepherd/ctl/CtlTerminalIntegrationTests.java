package dev.shepherd.ctl;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code shepherd top} and {@code shepherd logs -f} in a real terminal (tmux), against a real master with real
 * demo workers; skipped when tmux is not installed.
 */
class CtlTerminalIntegrationTests {

    /** A JVM start on a loaded machine, plus the first frame. */
    private static final Duration FIRST_SCREEN = Duration.ofSeconds(60);
    private static RunningShepherd shepherd;
    private static Map<String, String> env;

    @TempDir
    Path directory;
    private Tmux tmux;

    @BeforeAll
    static void start() {
        Tools.assumeTmux();
        shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.drain-timeout=2s", "--fleet.worker.kill-timeout=2s");
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + shepherd.adminPort());
    }

    @AfterAll
    static void stop() {
        if (shepherd != null) {
            shepherd.close();
        }
    }

    @BeforeEach
    void tmuxIsInstalled() {
        Tools.assumeTmux();
    }

    @AfterEach
    void closeTerminal() {
        if (tmux != null) {
            tmux.close();
        }
    }

    private static WorkerSnapshot readyWorker() {
        shepherd.awaitReady(shepherd.snapshot().desired());
        return shepherd.snapshot().workers().stream().filter(worker -> worker.state() == WorkerState.READY).findFirst().orElseThrow();
    }

    @Test
    void topShowsEveryWorkersPidThenTheReplacementOfAKilledOneAndQQuitsRestoringTheTerminal() throws IOException {
        WorkerSnapshot killed = readyWorker();
        List<Long> pids = shepherd.readyPids();
        tmux = Tmux.ctl(directory, env, "top");

        await().atMost(FIRST_SCREEN).untilAsserted(() -> assertThat(tmux.screen())
                .contains("shepherd top", "health UP", "ID  INDEX  PID").contains(pids.stream().map(String::valueOf).toList()));

        shepherd.fleet().kill(killed.id(), "KILL");
        await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.readyPids().size() == 2 && !shepherd.readyPids().contains(killed.pid()));
        long replacement = shepherd.readyPids().stream().filter(pid -> !pids.contains(pid)).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(tmux.screen()).contains(Long.toString(replacement))
                .doesNotContainPattern("\\b" + killed.pid() + "\\b"));

        tmux.type("q");

        await().atMost(Duration.ofSeconds(10)).until(tmux::ended);
        assertThat(tmux.exitStatus()).isZero();
        assertThat(tmux.screen()).as("the alternate screen is left").doesNotContain("shepherd top");
        assertThat(Files.readString(tmux.sttyAfter())).as("the terminal is back in cooked mode")
                .containsPattern("(^|\\s)icanon(\\s|$)").containsPattern("(^|\\s)echo(\\s|$)");
    }

    @Test
    void topSaysTheMasterIsUnreachableAndStillQuitsWithQ() throws IOException {
        // Below the ephemeral range: no test gets it by binding port 0, as one freed by a ServerSocket could be got.
        int port = 1;
        tmux = Tmux.ctl(directory, Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + port), "top");

        await().atMost(FIRST_SCREEN).untilAsserted(() -> assertThat(tmux.screen())
                .contains("master unreachable, retrying: cannot reach the admin API at http://127.0.0.1:" + port));

        tmux.type("q");

        await().atMost(Duration.ofSeconds(10)).until(tmux::ended);
        assertThat(tmux.exitStatus()).isZero();
    }

    @Test
    void logsFollowShowsTheLinesOfAWorkerStartedAfterIt() throws IOException {
        WorkerSnapshot worker = readyWorker();
        tmux = Tmux.ctl(directory, env, "logs", "-f", "-n", "1");
        await().atMost(FIRST_SCREEN).untilAsserted(() -> assertThat(tmux.screen()).containsPattern("\\d+ \\| echo worker \\d+ listening on"));

        int replacement = shepherd.fleet().replace(worker.id());

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(tmux.screen())
                .containsPattern("(?m)^" + replacement + " \\| echo worker \\d+ listening on "));
        await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.readyPids().size() == 2 && !shepherd.readyPids().contains(worker.pid()));
    }
}
