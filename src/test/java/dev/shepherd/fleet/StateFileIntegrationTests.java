package dev.shepherd.fleet;

import dev.shepherd.ShepherdApplication;
import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** fleet.state-file with real masters and real workers: what the operator set survives a restart of the master. */
@ExtendWith(OutputCaptureExtension.class)
class StateFileIntegrationTests {

    @TempDir
    Path dir;

    @Test
    void aMasterRestartedWithTheStateFileComesBackWithTheScaledCount(CapturedOutput output) throws IOException {
        Path file = dir.resolve("state.json");
        try (RunningShepherd first = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(output.getOut()).contains("No fleet state in " + file + " (fleet.state-file) yet");
            assertThat(file).as("not written before a change").doesNotExist();

            assertThat(first.admin("POST", "/fleet/scale", "{\"workers\": 3}").statusCode()).isEqualTo(202);

            first.awaitReady(3);
            await().atMost(Duration.ofSeconds(10)).until(() -> savedDesired(file).orElse(0) == 3);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        }

        try (RunningShepherd second = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(second.snapshot().desired()).isEqualTo(3);
            assertThat(second.readyPids()).hasSize(3);
            assertThat(output.getOut().lines().filter(line -> line.contains("Restoring the fleet from"))).singleElement()
                    .asString().as("a WARN: it runs 3 where 1 is configured")
                    .contains("WARN", file + " (fleet.state-file, saved ", "3 workers running the built-in "
                            + "demo worker; this overrides fleet.workers");
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).as("no temporary file left, the lock file "
                    + "stays").containsExactlyInAnyOrder("state.json", "state.json.lock");
        }
    }

    @Test
    void aCorruptStateFileStopsStartupWithItsMessageFirstAndIsLeftAsItWas(CapturedOutput output) throws IOException {
        Path file = dir.resolve("state.json");
        Files.writeString(file, "xyz {\"format\": 1}");

        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--fleet.workers=1", "--fleet.state-file=" + file))
                .satisfies(ex -> assertThat(causes(ex)).anySatisfy(cause -> assertThat(cause).hasMessage(
                        "fleet.state-file " + file + " is not a Shepherd state file (line 1: Unrecognized token 'xyz': "
                                + "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or "
                                + "'false')): fix or delete it")));

        String report = output.getOut().substring(output.getOut().indexOf("APPLICATION FAILED TO START"));
        assertThat(report).contains("Description:", "fleet.state-file " + file + " is not a Shepherd state file",
                "Action:", "Fix or delete the file (without it the master starts from the configuration)");
        assertThat(report).doesNotContain("Exception", "\tat ");
        assertThat(Files.readString(file)).isEqualTo("xyz {\"format\": 1}");
        RunningShepherd.assertNoChildProcess(List.of());
    }

    @Test
    void aStateFileInAMissingDirectoryStopsStartupNamingTheProperty() {
        Path file = dir.resolve("missing").resolve("state.json");

        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--fleet.workers=1", "--fleet.state-file=" + file))
                .satisfies(ex -> assertThat(causes(ex)).anySatisfy(cause -> assertThat(cause).hasMessage(
                        "fleet.state-file " + file + " is in " + file.getParent() + ", which does not exist")));
        assertThat(file.getParent()).doesNotExist();
        RunningShepherd.assertNoChildProcess(List.of());
    }

    @Test
    void theSavedSpecIsWhatTheWorkersRun() throws IOException {
        Path file = dir.resolve("state.json");
        Path workDir = Files.createDirectory(dir.resolve("app-1.4"));
        JsonMapper json = JsonMapper.builder().build();
        ObjectNode state = json.createObjectNode().put("format", 1).put("desired", 2);
        ObjectNode spec = state.putObject("spec");
        RunningShepherd.javaCommand(EchoWorker.class).forEach(spec.putArray("command")::add);
        spec.putObject("environment").put("SHEPHERD_RELEASE", "1.4");
        spec.put("workingDirectory", workDir.toString()).put("readinessPath", "/health");
        Files.writeString(file, json.writeValueAsString(state));

        // Configured: one built-in demo worker, whose answers start "Process handled by pid".
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(shepherd.readyPids()).hasSize(2);
            assertThat(shepherd.snapshot().spec().environment()).containsEntry("SHEPHERD_RELEASE", "1.4");
            for (int i = 0; i < 2; i++) {
                assertThat(shepherd.get("/env").body()).contains("SHEPHERD_RELEASE=1.4\n");
            }
            for (long pid : shepherd.readyPids()) {
                assertThat(Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd"))).isEqualTo(workDir);
            }
        }
    }

    @Test
    void aMasterRestartedAfterAReloadComesBackWithTheNewSpecAndNeverLogsItsSecret(CapturedOutput output) throws Exception {
        Path file = dir.resolve("state.json");
        List<String> v2 = new ArrayList<>(RunningShepherd.javaCommand(EchoWorker.class));
        v2.add("v2-{index}");
        JsonMapper json = JsonMapper.builder().build();
        String body = json.writeValueAsString(Map.of("command", v2, "environment",
                Map.of("ECHO_VERSION", "v2", "API_TOKEN", "s3cr3t-in-the-body"), "workingDirectory", dir.toString()));
        try (RunningShepherd first = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(first.admin("POST", "/fleet/reload", body).statusCode()).isEqualTo(202);

            await().atMost(Duration.ofSeconds(90)).until(() -> first.snapshot().spec().command().equals(v2));
            await().atMost(Duration.ofSeconds(10)).until(() -> new StateFile(file).read(64)
                    .map(saved -> saved.spec().command().equals(v2)).orElse(false));
        }

        // Configured: the built-in demo worker, which has no /whoami.
        try (RunningShepherd second = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(second.snapshot().spec().command()).isEqualTo(v2);
            assertThat(second.snapshot().spec().environment()).containsEntry("API_TOKEN", "s3cr3t-in-the-body");
            assertThat(second.get("/whoami").body()).contains("args=v2-0\n", "version=v2\n", "cwd=" + dir.toRealPath());
            assertThat(second.admin("GET", "/fleet", null).body()).doesNotContain("s3cr3t-in-the-body");
        }
        assertThat(output.getAll()).contains("Restoring the fleet from").doesNotContain("s3cr3t-in-the-body");
    }

    @Test
    void aMasterRestartedAfterAFailedReloadComesBackWithTheOldSpec() {
        Path file = dir.resolve("state.json");
        try (RunningShepherd first = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(first.admin("POST", "/fleet/scale", "{\"workers\": 2}").statusCode()).isEqualTo(202);
            first.awaitReady(2);
            assertThat(first.admin("POST", "/fleet/reload", "{\"command\": [\"sh\", \"-c\", \"exit 3\"]}")
                    .statusCode()).isEqualTo(202);

            await().atMost(Duration.ofSeconds(90)).until(() -> first.snapshot().reload().state() == ReloadStatus.State.FAILED);
            await().atMost(Duration.ofSeconds(10)).until(() -> savedDesired(file).orElse(0) == 2);
        }

        try (RunningShepherd second = RunningShepherd.startReady("--fleet.workers=1", "--fleet.state-file=" + file)) {
            assertThat(second.snapshot().desired()).isEqualTo(2);
            assertThat(second.snapshot().spec().command()).as("the built-in demo worker").isEmpty();
            assertThat(second.get("/").body()).startsWith("Process handled by pid");
        }
    }

    private static Optional<Integer> savedDesired(Path file) {
        return new StateFile(file).read(64).map(SavedState::desired);
    }

    private static List<Throwable> causes(Throwable failure) {
        List<Throwable> causes = new ArrayList<>();
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            causes.add(cause);
        }
        return causes;
    }
}
