package dev.shepherd.ctl;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code shepherd reload} with a new worker spec against a real master: a version switch from one Node script to
 * another under {@code ab} (Apache Bench) load, and a reload to a command that exits at once.
 */
class CtlReloadSpecIntegrationTests {

    /**
     * A Node worker that answers every request (its readiness probe, GET /health, too) with its version and pid, the
     * pid padded: ab counts an answer of another length than the first as a failed request.
     */
    private static final String WORKER = """
            const http = require('http');
            http.createServer((req, res) => res.end('%s ' + String(process.pid).padStart(10, '0') + '\\n'))
                .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('%s listening on ' + process.env.PORT));
            process.on('SIGTERM', () => process.exit(0));
            """;

    @TempDir
    Path scripts;
    private RunningShepherd shepherd;

    @AfterEach
    void stop() {
        if (shepherd != null) {
            shepherd.close();
        }
    }

    private Map<String, String> env() {
        return Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + shepherd.adminPort());
    }

    private String script(String version) throws IOException {
        Path script = scripts.resolve("app-" + version + ".js");
        Files.writeString(script, WORKER.formatted(version, version));
        return script.toString();
    }

    @Test
    void reloadCommandSwitchesFromOneNodeScriptToAnotherUnderLoadWithoutAFailedRequest() throws Exception {
        Tools.assumeNode();
        Tools.assumeAb();
        shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.worker.command=node," + script("v1"),
                "--fleet.worker.drain-timeout=2s");
        List<Long> before = shepherd.readyPids();
        assertThat(shepherd.get("/").body()).startsWith("v1 ");

        Process ab = new ProcessBuilder("ab", "-k", "-c", "20", "-t", "10", "-n", "1000000", shepherd.proxy("/").toString())
                .redirectErrorStream(true).start();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().workers().stream().anyMatch(w -> w.requests() > 0));
            CtlTests.Result reload = CtlTests.run(env(), "reload", "--command", "node," + script("v2"), "--wait");
            assertThat(reload.code()).as(reload.out() + reload.err()).isZero();

            assertThat(ab.waitFor(30, TimeUnit.SECONDS)).as("ab ended").isTrue();
            String report = new String(ab.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(report).as(report).containsPattern("Complete requests:\\s+[1-9]\\d*")
                    .containsPattern("Failed requests:\\s+0\\n").doesNotContain("Non-2xx responses");
        } finally {
            ab.destroyForcibly();
        }
        assertThat(shepherd.readyPids()).hasSize(2).doesNotContainAnyElementsOf(before);
        assertThat(shepherd.get("/").body()).startsWith("v2 ");
    }

    @Test
    void reloadWaitToACommandThatExitsAtOnceExitsRolledBackWithItsLastLine() throws IOException {
        shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.startup-timeout=15s");
        List<Long> before = shepherd.readyPids();

        CtlTests.Result result = CtlTests.run(env(), "reload", "--wait", "--command", "sh,-c,echo boom-$$ >&2; exit 3");

        assertThat(result.code()).as(result.out() + result.err()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(result.err()).startsWith("reload to generation ").contains("rolled back").containsPattern("boom-\\d+")
                .hasLineCount(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().size() == 2);
        assertThat(shepherd.readyPids()).containsExactlyInAnyOrderElementsOf(before);
    }

    /**
     * A program that cannot be started fails the reload in the answer to its POST: --no-wait said "failed and was
     * rolled back" on standard output and exited 0 (a new user's), where --wait told it on standard error, exit 3.
     */
    @Test
    void reloadNoWaitToAProgramThatCannotStartExitsRolledBackAsWaitDoes() {
        shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand());
        List<Long> before = shepherd.readyPids();
        String missing = scripts.resolve("no-such-program").toString();

        CtlTests.Result noWait = CtlTests.run(env(), "reload", "--no-wait", "--command", missing + ",x");
        CtlTests.Result waited = CtlTests.run(env(), "reload", "--command", missing + ",x");

        assertThat(noWait.code()).as(noWait.out() + noWait.err()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(noWait.out()).startsWith("reload to generation ").contains(" started: ").doesNotContain("failed");
        assertThat(noWait.err()).contains("failed and was rolled back: ").contains("cannot start").hasLineCount(1);
        assertThat(waited.code()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(waited.err().replaceAll("generation \\d+", "generation N").replaceAll("worker \\d+", "worker N")
                .replaceAll("pid \\d+", "pid N")).isEqualTo(noWait.err().replaceAll("generation \\d+", "generation N")
                .replaceAll("worker \\d+", "worker N").replaceAll("pid \\d+", "pid N"));
        assertThat(shepherd.readyPids()).containsExactlyInAnyOrderElementsOf(before);
    }

    /** The status said the rollback was over before its last event was read, so "rollback ... finished" was not printed. */
    @Test
    void reloadWaitPrintsTheRollbacksStepsToItsLastEvent() {
        shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.startup-timeout=15s", "--fleet.restart.min-uptime=500ms");
        List<Long> before = shepherd.readyPids();
        // The first new worker serves; the second exits at once, so the reload fails after one step and is rolled back.
        String marker = scripts.resolve("first-started").toString();
        String command = "sh,-c,if [ -e '" + marker + "' ]; then exit 3; fi; touch '" + marker + "'; exec \"$@\",worker,"
                + String.join(",", RunningShepherd.javaCommand(EchoWorker.class));

        CtlTests.Result result = CtlTests.run(env(), "reload", "--wait", "--command", command);

        assertThat(result.code()).as(result.out() + result.err()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(result.out()).containsPattern("rollback: worker \\d+ \\(generation 2\\) replaced by worker \\d+")
                .containsPattern("(?m)^rollback of generation 2 finished: the fleet runs generation 1 again$");
        await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().size() == 2
                && shepherd.readyPids().size() == 2);
        assertThat(shepherd.readyPids()).as("one of the first workers was replaced by the step").containsAnyElementsOf(before);
    }
}
