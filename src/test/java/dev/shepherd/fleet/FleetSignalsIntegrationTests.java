package dev.shepherd.fleet;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real master's signals, as gunicorn reads them: {@code SIGHUP} replaces every worker by a rolling reload and the
 * master stays up (the JVM's default stopped it), {@code SIGTTIN} and {@code SIGTTOU} scale by one.
 */
class FleetSignalsIntegrationTests {

    @Test
    void hangUpReloadsEveryWorkerAndTtinTtouScaleByOne() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(2, RunningShepherd.echoWorkerCommand())) {
            List<Long> before = master.readyWorkerPids();

            signal(master, "HUP");

            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
                assertThat(master.admin("/fleet").body()).contains("\"generation\":2", "\"state\":\"SUCCEEDED\"");
                assertThat(master.readyWorkerPids()).hasSize(2).doesNotContainAnyElementsOf(before);
            });
            assertThat(master.isAlive()).isTrue();
            assertThat(master.output()).contains("SIGHUP: rolling reload to generation 2 started");

            signal(master, "TTIN");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(master.readyWorkerPids()).hasSize(3));
            signal(master, "TTOU");
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(master.readyWorkerPids()).hasSize(2));
            // Logged once the scale returned, by way of the console's own thread: maybe after the worker left.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(master.output())
                    .contains("SIGTTIN: scaling from 2 to 3 workers", "SIGTTOU: scaling from 3 to 2 workers"));
        }
    }

    /**
     * {@code kill -USR1} ended the master and its fleet (the JVM's default), {@code kill -USR2} crashed a Java 17
     * master (JDK-8288556; a new user's, from nginx's and PM2's log reopening): both now leave it serving. Without
     * {@code _JAVA_SR_SIGNUM}, as a bare {@code java -jar} runs it, SIGUSR2 stays the JVM's.
     */
    @Test
    void userSignalsLeaveAMasterWithoutALogDirectoryServing() throws Exception {
        try (MasterProcess master = MasterProcess.startReady(1, RunningShepherd.echoWorkerCommand())) {
            List<Long> before = master.readyWorkerPids();

            signal(master, "USR1");
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(master.output())
                    .contains("SIGUSR1: no worker log file to reopen (fleet.worker.log-directory is not set)"));
            signal(master, "USR2");

            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(master::isAlive);
            assertThat(master.readyWorkerPids()).isEqualTo(before);
        }
    }

    /** Where the launchers' {@code _JAVA_SR_SIGNUM} frees it, SIGUSR2 reopens the worker log files too (PM2's reloadLogs). */
    @Test
    void userSignalsReopenTheWorkerLogFiles(@TempDir Path logs) throws Exception {
        Files.setPosixFilePermissions(logs, PosixFilePermissions.fromString("rwx------"));
        try (MasterProcess master = MasterProcess.startReadyWithEnvironment(Map.of("_JAVA_SR_SIGNUM", "39"), 1,
                RunningShepherd.echoWorkerCommand(), "--fleet.worker.log-directory=" + logs)) {
            signal(master, "USR1");
            signal(master, "USR2");

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(master.output()).contains(
                    "SIGUSR1: the worker log files of 1 slot reopened", "SIGUSR2: the worker log files of 1 slot reopened"));
            assertThat(master.isAlive()).isTrue();
        }
    }

    private static void signal(MasterProcess master, String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(master.pid())).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }
}
