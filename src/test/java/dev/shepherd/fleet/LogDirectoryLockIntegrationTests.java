package dev.shepherd.fleet;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.worker.LogDirectoryLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two real masters on one fleet.worker.log-directory: the second stops at startup naming the setting and the first's
 * pid, as a port in use stops Spring Boot, where both appended to the same worker-N-out.log files unwarned. Each
 * master a JVM of its own, in a class of its own: a second master in the test's JVM shares its lock table.
 */
class LogDirectoryLockIntegrationTests {

    @TempDir
    Path directory;

    @Test
    void aSecondMasterOnTheSameLogDirectoryStopsAtStartupNamingTheSettingAndTheFirstsPid() throws Exception {
        try (MasterProcess first = MasterProcess.startReady(1, "--fleet.worker.log-directory=" + directory)) {
            long workerPid = first.readyWorkerPids().get(0);

            String second = MasterProcess.runUntilExit(List.of(), "--fleet.worker.log-directory=" + directory);

            String report = second.substring(second.indexOf("APPLICATION FAILED TO START"));
            assertThat(report).contains("Description:", "fleet.worker.log-directory " + directory + " is in use by "
                    + "another master (pid " + first.pid() + "): both would write the same worker-<index>-out.log and "
                    + "-err.log files", "Action:", "Stop that master first, or give this one a "
                    + "fleet.worker.log-directory of its own.");
            assertThat(report).doesNotContain("\tat ");
            assertThat(first.isAlive()).isTrue();
            assertThat(first.readyWorkerPids()).containsExactly(workerPid);
            assertThat(Files.readString(directory.resolve(LogDirectoryLock.NAME)).trim()).as("the first's pid, kept")
                    .isEqualTo(Long.toString(first.pid()));
            assertThat(Files.readAllLines(directory.resolve("worker-0-out.log"))).as("the first's worker's lines only")
                    .filteredOn(line -> line.contains("Server started in process")).singleElement().asString()
                    .startsWith("Server started in process " + workerPid + " on port ");
        }
    }
}
