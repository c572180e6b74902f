package dev.shepherd.fleet;

import dev.shepherd.ShepherdApplication;
import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.OrphanGuard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.SpringApplication;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Starting and stopping the master: bad configuration, graceful shutdown, and a master killed with -9. */
class MasterLifecycleIntegrationTests {

    @Test
    void killDashNineOfTheMasterLeavesNoWorkerProcess() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(2, "--fleet.demo.work=1000")) {
            List<Long> workers = master.readyWorkerPids();
            assertThat(workers).hasSize(2).allMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            // Out of the master's process group and session (Ctrl-C or a kill of the group reaches the master alone,
            // which drains; the guard would KILL the workers), yet still woken by the master's death below.
            ProcessHandle guard = master.startedProcesses().stream()
                    .filter(process -> process.info().commandLine().orElse("").contains(OrphanGuard.NAME))
                    .findFirst().orElseThrow(() -> new AssertionError("no orphan guard among " + master.startedProcesses()));
            assertThat(groupAndSession(guard.pid())).doesNotContainAnyElementsOf(groupAndSession(master.pid()));

            master.killDashNine();

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(workers)
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
        }
        RunningShepherd.assertNoChildProcess(List.of());
    }

    /**
     * The orphan guard is the only thing that ends what the workers forked when the master is killed with -9: one that
     * dies (the OOM killer, a stray kill) is noticed, logged and started again (found by attack: nothing noticed, and a
     * later kill -9 of the master left the workers' children running).
     */
    @Test
    void anOrphanGuardThatDiesIsStartedAgainAndStillEndsTheWorkersWhenTheMasterIsKilled() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(1, "--fleet.demo.work=1000")) {
            List<Long> workers = master.readyWorkerPids();
            long first = guards(master.pid()).get(0);

            ProcessHandle.of(first).orElseThrow().destroyForcibly();

            // At once, not at the next periodic sweep (5 s, the liveness interval): a kill -9 of the master in
            // between would leave the workers' children running.
            await().atMost(Duration.ofSeconds(3)).untilAsserted(() -> assertThat(guards(master.pid()))
                    .hasSize(1).doesNotContain(first));
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(master.output())
                    .contains("The orphan guard (pid " + first + ") ended with code 137"));
            long second = guards(master.pid()).get(0);
            master.killDashNine();

            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(workers)
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
            // The new guard removes its groups file as it ends: started after the workers, it is not among the
            // processes close() waits for (on a loaded host close() looked before it had ended).
            await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(second).filter(ProcessHandle::isAlive)
                    .isEmpty() || dev.shepherd.worker.ProcFs.exitedNotReaped(second));
        }
        RunningShepherd.assertNoChildProcess(List.of());
    }

    /** The pids of the orphan guards {@code master} started that are alive now. */
    private static List<Long> guards(long master) {
        return ProcessHandle.of(master).orElseThrow().children()
                .filter(process -> process.info().commandLine().orElse("").contains(OrphanGuard.NAME))
                .map(ProcessHandle::pid).toList();
    }

    /**
     * Ctrl-C starts the graceful stop, which waits for the request in flight; Ctrl-C again ends the master at once
     * (exit code 130), and its workers with it.
     */
    @Test
    void aSecondInterruptStopsTheMasterAtOnceWhileTheFirstStillDrains() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(1, RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.drain-timeout=120s")) {
            String ignored = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + master.pid() + "/status"))
                    .stream().filter(line -> line.startsWith("SigIgn:")).findFirst().orElseThrow().substring(7).trim();
            org.assertj.core.api.Assumptions.assumeThat(Long.parseLong(ignored, 16) & 2).as("the test runs where "
                    + "SIGINT is ignored (a background job of a script), and the master keeps it ignored").isZero();
            List<Long> workers = master.readyWorkerPids();
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            CompletableFuture<HttpResponse<String>> slow = http.sendAsync(HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + master.proxyPort() + "/slow?ms=60000")).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> master.admin("/fleet").body().contains("\"inFlight\":1"));

            interrupt(master.pid());
            await().atMost(Duration.ofSeconds(10)).until(() -> master.output().contains("waiting up to 120 s for 1 "
                    + "requests in flight"));
            assertThat(master.output()).contains("interrupt again to stop at once");
            assertThat(master.isAlive()).as("draining").isTrue();

            interrupt(master.pid());
            await().atMost(Duration.ofSeconds(10)).until(() -> !master.isAlive());
            assertThat(master.exitCode()).isEqualTo(130);
            assertThat(master.output()).contains("Interrupted again: stopping at once");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(workers)
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
            assertThat(slow).failsWithin(Duration.ofSeconds(10));
        }
        RunningShepherd.assertNoChildProcess(List.of());
    }

    private static void interrupt(long pid) throws Exception {
        assertThat(new ProcessBuilder("kill", "-INT", Long.toString(pid)).start().waitFor()).isZero();
    }

    /** Fields 5 and 6 of /proc/PID/stat (proc(5)): the process group and the session. */
    private static List<Long> groupAndSession(long pid) throws java.io.IOException {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return List.of(Long.parseLong(fields[2]), Long.parseLong(fields[3]));
    }

    @Test
    void shutdownLetsRequestsInFlightFinishBeforeTheWorkersStop() throws Exception {
        RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand());
        CompletableFuture<HttpResponse<String>> slow = shepherd.http().sendAsync(
                HttpRequest.newBuilder(shepherd.proxy("/slow?ms=1500")).build(), HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().workers().get(0).inFlight() == 1);

        shepherd.close();

        HttpResponse<String> response = slow.get();
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("uri=/slow?ms=1500");
    }

    @Test
    void invalidWorkerCountStopsStartupNamingTheProperty() {
        // 0, max and -N are PM2's forms (WorkerCountForms), taken.
        for (String value : List.of("100000", "lots", "2.5")) {
            assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                    "--management.server.port=0", "--fleet.workers=" + value))
                    .satisfies(ex -> assertThat(describe(ex)).contains("fleet.workers"));
        }
        RunningShepherd.assertNoChildProcess(List.of());
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void negativeDurationStopsStartupNamingTheProperty(CapturedOutput output) {
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--fleet.worker.kill-timeout=-1s"))
                .satisfies(ex -> assertThat(describe(ex)).contains("worker.killTimeout", "must be longer than or equal to 0"));
        assertThat(output).contains("APPLICATION FAILED TO START", "Property: fleet.worker.kill-timeout", "Value: \"-1s\"",
                "Origin: \"fleet.worker.kill-timeout\" from property source \"commandLineArgs\"",
                "must be longer than or equal to 0")
                .as("told once, by the report").doesNotContain("Exception encountered during context initialization")
                .as("no Spring boilerplate before it (a new user went looking for that report)")
                .doesNotContain("condition evaluation report");
    }

    @Test
    void unknownPlaceholderInTheWorkerCommandStopsStartupNamingTheProperty() {
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--fleet.worker.command=node,server.js,--listen={prot}"))
                .satisfies(ex -> assertThat(describe(ex)).contains("fleet.worker.command[2]", "{prot}"))
                .satisfies(ex -> assertThat(report(ex).getDescription()).startsWith("fleet.worker.command[2] has the "
                        + "unknown placeholder {prot}"));
    }

    @Test
    void adminPortOpenToTheNetworkWithoutATokenStopsStartup() {
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--management.server.address=0.0.0.0"))
                .satisfies(ex -> assertThat(describe(ex)).contains("fleet.admin.token", "0.0.0.0"))
                .satisfies(ex -> assertThat(report(ex).getAction()).startsWith("Set fleet.admin.token"));
        RunningShepherd.assertNoChildProcess(List.of());
    }

    @Test
    void aBodyTempPathThatCannotTakeFilesStopsStartupBeforeAnyWorkerStarts(@org.junit.jupiter.api.io.TempDir
                                                                           java.nio.file.Path directory) {
        java.nio.file.Path missing = directory.resolve("bodies");
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--fleet.proxy.client-body-temp-path=" + missing))
                .satisfies(ex -> assertThat(report(ex).getDescription()).startsWith("fleet.proxy.client-body-temp-path "
                        + "names " + missing + ", which does not exist"));
        RunningShepherd.assertNoChildProcess(List.of());
    }

    /** What the startup report prints (Shepherd's analyzer), rather than a stack trace: null if it had nothing. */
    private static org.springframework.boot.diagnostics.FailureAnalysis report(Throwable ex) {
        org.springframework.boot.diagnostics.FailureAnalysis analysis =
                new dev.shepherd.ConfigurationFailureAnalyzer(null).analyze(ex);
        assertThat(analysis).as("analyzed by ConfigurationFailureAnalyzer").isNotNull();
        return analysis;
    }

    private static String describe(Throwable ex) {
        StringBuilder messages = new StringBuilder();
        for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
            messages.append(cause.getMessage()).append('\n');
        }
        return messages.toString();
    }
}
