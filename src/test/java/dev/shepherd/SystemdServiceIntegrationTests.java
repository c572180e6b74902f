package dev.shepherd;

import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code systemd/shepherd.service} and its environment file: valid for systemd, and what systemd does with them
 * done to a real master: {@code systemctl reload} runs the unit's {@code ExecReload}, {@code systemctl stop} with
 * {@code KillMode=mixed} sends SIGTERM to the master alone and counts its exit code as success or failure.
 */
class SystemdServiceIntegrationTests {

    private static final Path UNIT = Path.of("systemd/shepherd.service");
    private static final Path ENVIRONMENT = Path.of("systemd/shepherd.env");
    private static final String INSTALLED_CLI = "/opt/shepherd/bin/shepherd";

    @Test
    void systemdFindsNothingWrongInTheUnit(@TempDir Path directory) throws Exception {
        Tools.assumeSystemdAnalyze();
        // Its programs where this machine has them: verify checks that they exist and are executable.
        Path unit = directory.resolve("shepherd.service");
        Files.writeString(unit, Files.readString(UNIT)
                .replace(INSTALLED_CLI, Path.of("bin/shepherd").toAbsolutePath().toString())
                .replace("/usr/bin/java ", Path.of(System.getProperty("java.home"), "bin", "java") + " "));

        Process verify = new ProcessBuilder("systemd-analyze", "verify", unit.toString()).redirectErrorStream(true).start();
        String output = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(verify.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // systemd-analyze exits 0 even for an unknown key or a bad value; it says so on its output.
        assertThat(verify.exitValue()).as(output).isZero();
        assertThat(output).isEmpty();
    }

    @Test
    void theUnitGivesTheMasterTheTimeItsDefaultsNeedToStop() throws IOException {
        Map<String, List<String>> service = service();
        FleetProperties defaults = new Binder(new MapConfigurationPropertySource(Map.of("fleet.worker.command[0]", "app")))
                .bindOrCreate("fleet", FleetProperties.class);

        assertThat(service.get("KillMode")).containsExactly("mixed");
        assertThat(Duration.ofSeconds(Long.parseLong(service.get("TimeoutStopSec").get(0))))
                .isGreaterThanOrEqualTo(defaults.worker().drainTimeout().plus(defaults.worker().killTimeout())
                        .plusSeconds(10));
        assertThat(service.get("Delegate")).containsExactly("yes");
    }

    @Test
    void everyVariableOfTheEnvironmentFileSetsASetting() throws IOException {
        Map<String, String> variables = new LinkedHashMap<>();
        for (String line : Files.readAllLines(ENVIRONMENT)) {
            // The commented examples too: uncommented, they must set what they say.
            String assignment = line.replaceFirst("^# (?=[A-Z_0-9]+=)", "");
            if (assignment.matches("[A-Z_0-9]+=.*")) {
                variables.put(assignment.substring(0, assignment.indexOf('=')), assignment.substring(assignment.indexOf('=') + 1));
            }
        }

        assertThat(variables).containsKeys("FLEET_WORKER_COMMAND_0", "MANAGEMENT_SERVER_PORT", "FLEET_ADMIN_TOKEN_FILE",
                "FLEET_STATEFILE", "FLEET_WORKER_WORKINGDIRECTORY", "FLEET_WORKERS");
        assertThat(UnknownVariables.warnings(variables, KnownSettings.types())).isEmpty();
    }

    /**
     * {@code systemctl reload} (the unit's {@code ExecReload}, through {@code bin/shepherd} with the unit's environment)
     * replaces every worker and exits 0; {@code systemctl stop} (SIGTERM to the master only) lets a request in flight
     * finish, and the master and everything it started are gone within {@code TimeoutStopSec}, leaving nothing to
     * systemd's final SIGKILL, with an exit code {@code SuccessExitStatus} counts as a clean stop.
     */
    @Test
    void reloadAndStopAsSystemdDoesThem(@TempDir Path directory) throws Exception {
        Map<String, List<String>> service = service();
        try (MasterProcess master = MasterProcess.startReady(2, RunningShepherd.echoWorkerCommand())) {
            List<Long> before = master.readyWorkerPids();

            Process reload = execReload(service, directory, master.adminPort());
            String output = new String(reload.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(reload.waitFor(90, TimeUnit.SECONDS)).as(output).isTrue();
            assertThat(reload.exitValue()).as(output).isZero();
            List<Long> after = master.readyWorkerPids();
            assertThat(after).hasSize(2).doesNotContainAnyElementsOf(before);

            CompletableFuture<HttpResponse<String>> slow = HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + master.proxyPort() + "/slow?ms=2000")).build(),
                    HttpResponse.BodyHandlers.ofString());
            await().atMost(Duration.ofSeconds(10)).until(() -> master.admin("/fleet").body().contains("\"inFlight\":1"));
            List<ProcessHandle> started = ProcessHandle.of(master.pid()).orElseThrow().descendants().toList();
            assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(master.pid())).start().waitFor()).isZero();

            await().atMost(Duration.ofSeconds(Long.parseLong(service.get("TimeoutStopSec").get(0))))
                    .until(() -> !master.isAlive() && started.stream().noneMatch(ProcessHandle::isAlive));
            assertThat(slow.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            assertThat(service.get("SuccessExitStatus").get(0).split(" ")).contains(Integer.toString(master.exitCode()));
        }
    }

    /**
     * The unit's {@code ExecReload} with the unit's environment and the environment file's admin port, run by
     * {@code bin/shepherd} with a stand-in for {@code java} that runs the command line from the test classpath (the
     * jar is built after the tests).
     */
    private static Process execReload(Map<String, List<String>> service, Path directory, int adminPort) throws IOException {
        List<String> command = new ArrayList<>(Arrays.asList(service.get("ExecReload").get(0).split(" ")));
        assertThat(command.get(0)).isEqualTo(INSTALLED_CLI);
        command.set(0, Path.of("bin/shepherd").toAbsolutePath().toString());
        Path java = directory.resolve("java");
        Files.writeString(java, """
                #!/bin/sh
                # bin/shepherd's java: the real one, with the test classpath in place of -jar shepherd.jar
                skip=
                for arg do
                  shift
                  if [ -n "$skip" ]; then skip=; continue; fi
                  if [ "$arg" = -jar ]; then set -- "$@" -cp "$TEST_CLASSPATH" dev.shepherd.ShepherdApplication; skip=1; continue; fi
                  set -- "$@" "$arg"
                done
                exec "$REAL_JAVA" "$@"
                """);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
        Path jar = Files.writeString(directory.resolve("shepherd.jar"), "the test classpath stands in for it");

        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> environment = builder.environment();
        List.of("SHEPHERD_ADMIN_URL", "SHEPHERD_ADMIN_TOKEN", "SHEPHERD_ADMIN_TOKEN_FILE", "FLEET_ADMIN_TOKEN",
                "FLEET_ADMIN_TOKEN_FILE", "JAVA_HOME").forEach(environment::remove);
        for (String variable : service.get("Environment")) {
            environment.put(variable.substring(0, variable.indexOf('=')), variable.substring(variable.indexOf('=') + 1));
        }
        environment.putAll(Map.of("SHEPHERD_JAR", jar.toString(), "MANAGEMENT_SERVER_PORT", Integer.toString(adminPort),
                "JAVA", java.toString(), "REAL_JAVA", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "TEST_CLASSPATH", System.getProperty("java.class.path"), "SHEPHERD_CTL_CACHE", "off"));
        return builder.start();
    }

    /** The unit's {@code [Service]} section: each key's values, in order (Environment= may be given many times). */
    private static Map<String, List<String>> service() throws IOException {
        Map<String, List<String>> keys = new HashMap<>();
        String section = "";
        for (String line : Files.readAllLines(UNIT)) {
            if (line.startsWith("[")) {
                section = line;
            } else if (section.equals("[Service]") && !line.isBlank() && !line.startsWith("#")) {
                keys.computeIfAbsent(line.substring(0, line.indexOf('=')), key -> new ArrayList<>())
                        .add(line.substring(line.indexOf('=') + 1));
            }
        }
        return keys;
    }
}
