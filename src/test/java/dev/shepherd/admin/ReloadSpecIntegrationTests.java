package dev.shepherd.admin;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code POST /fleet/reload} with a new worker spec, on a real master with real worker processes. */
class ReloadSpecIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path directory;

    private static String json(Object value) {
        return JSON.writeValueAsString(value);
    }

    private static JsonNode get(RunningShepherd shepherd, String path) {
        HttpResponse<String> response = shepherd.admin("GET", path, null);
        assertThat(response.statusCode()).as(path).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static JsonNode reloadAndWait(RunningShepherd shepherd, Map<String, Object> body) {
        HttpResponse<String> started = shepherd.admin("POST", "/fleet/reload", json(body));
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(90))
                .until(() -> !get(shepherd, "/fleet/reload").get("state").stringValue().equals("RUNNING"));
        return get(shepherd, "/fleet/reload");
    }

    private static Set<Long> pids(RunningShepherd shepherd) {
        return new HashSet<>(shepherd.readyPids());
    }

    /** The /whoami of every READY worker, asked directly on its port. */
    private static List<String> whoami(RunningShepherd shepherd) throws Exception {
        List<String> answers = new ArrayList<>();
        for (var worker : shepherd.snapshot().workers()) {
            if (worker.state() == dev.shepherd.worker.WorkerState.READY) {
                answers.add(shepherd.http().send(java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + worker.port() + "/whoami")).build(),
                        HttpResponse.BodyHandlers.ofString()).body());
            }
        }
        return answers;
    }

    @Test
    void reloadToANewCommandAndEnvironmentReplacesEveryWorkerWithOneRunningIt() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.environment.ECHO_VERSION=v1")) {
            Set<Long> before = pids(shepherd);
            assertThat(whoami(shepherd)).allSatisfy(answer -> assertThat(answer).contains("args=\n", "version=v1"));
            List<String> v2 = new ArrayList<>(RunningShepherd.javaCommand(EchoWorker.class));
            v2.add("v2-{index}");

            JsonNode status = reloadAndWait(shepherd, Map.of("command", v2,
                    "environment", Map.of("ECHO_VERSION", "v2", "API_TOKEN", "abc123"),
                    "workingDirectory", directory.toString()));

            assertThat(status.get("state").stringValue()).isEqualTo("SUCCEEDED");
            assertThat(status.get("generation").asLong()).isEqualTo(2);
            shepherd.awaitReady(2);
            assertThat(pids(shepherd)).hasSize(2).doesNotContainAnyElementsOf(before);
            assertThat(whoami(shepherd)).hasSize(2).allSatisfy(answer -> assertThat(answer)
                    .containsPattern("args=v2-[01]\n").contains("version=v2", "cwd=" + directory.toRealPath()));
            // The old generation shows until its last worker has drained and left.
            await().atMost(Duration.ofSeconds(30)).until(() -> get(shepherd, "/fleet").get("generations").size() == 1);
            JsonNode generations = get(shepherd, "/fleet").get("generations");
            assertThat(generations.get(0).get("generation").asLong()).isEqualTo(2);
            assertThat(generations.get(0).get("current").asBoolean()).isTrue();
            assertThat(generations.get(0).get("spec").get("command").get(v2.size() - 1).stringValue()).isEqualTo("v2-{index}");
            assertThat(generations.get(0).get("spec").get("environment").get("API_TOKEN").stringValue()).isEqualTo("******");
            assertThat(shepherd.admin("GET", "/fleet", null).body()).doesNotContain("abc123");
            assertThat(shepherd.admin("GET", "/fleet/events", null).body()).contains("+API_TOKEN").doesNotContain("abc123");

            // Undo: a reload back to generation 1's spec, as generation 3.
            HttpResponse<String> undo = shepherd.admin("POST", "/fleet/reload/undo", null);
            assertThat(undo.statusCode()).as(undo.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(90))
                    .until(() -> !get(shepherd, "/fleet/reload").get("state").stringValue().equals("RUNNING"));
            assertThat(get(shepherd, "/fleet/reload").get("state").stringValue()).isEqualTo("SUCCEEDED");
            assertThat(get(shepherd, "/fleet/reload").get("generation").asLong()).isEqualTo(3);
            shepherd.awaitReady(2);
            await().atMost(Duration.ofSeconds(30)).until(() -> whoami(shepherd).size() == 2
                    && whoami(shepherd).stream().allMatch(answer -> answer.contains("version=v1")));
            assertThat(whoami(shepherd)).allSatisfy(answer -> assertThat(answer).contains("args=\n")
                    .doesNotContain("cwd=" + directory.toRealPath()));
        }
    }

    /** A new worker that never opens its port held the reload for startup-timeout: undo stops it now. */
    @Test
    void undoStopsAReloadWhoseNewWorkerNeverGetsReady() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.startup-timeout=300s")) {
            Set<Long> before = pids(shepherd);
            HttpResponse<String> started = shepherd.admin("POST", "/fleet/reload",
                    json(Map.of("command", List.of("sleep", "600"))));
            assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().workers().size() == 3);
            long sleeping = shepherd.snapshot().workers().stream().filter(worker -> worker.generation() == 2)
                    .findFirst().orElseThrow().pid();
            assertThat(shepherd.admin("GET", "/fleet/events", null).body())
                    .contains("(pid " + sleeping + ", generation 2) started to replace worker");

            HttpResponse<String> undo = shepherd.admin("POST", "/fleet/reload/undo", null);

            assertThat(undo.statusCode()).as(undo.body()).isEqualTo(202);
            JsonNode status = JSON.readTree(undo.body());
            assertThat(status.get("state").stringValue()).isEqualTo("FAILED");
            assertThat(status.get("reason").stringValue()).startsWith("undone while it ran");
            await().atMost(Duration.ofSeconds(15)).until(() -> ProcessHandle.of(sleeping).isEmpty()
                    && shepherd.snapshot().workers().size() == 2);
            assertThat(pids(shepherd)).isEqualTo(before);
            assertThat(shepherd.get("/").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void reloadToACommandThatExitsAtOnceRollsBackAndTheOldWorkersKeepServing() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand())) {
            Set<Long> before = pids(shepherd);
            JsonNode command = get(shepherd, "/fleet").get("generations").get(0).get("spec").get("command");

            JsonNode status = reloadAndWait(shepherd, Map.of("command", List.of("sh", "-c", "echo boom >&2; exit 3")));

            assertThat(status.get("state").stringValue()).isEqualTo("FAILED");
            assertThat(status.get("reason").stringValue()).matches("worker \\d+ \\(generation 2\\) exited with code 3 before it "
                    + "was READY; last log lines: \"boom\"");
            JsonNode problem = status.get("problem");
            assertThat(problem.get("status").asInt()).isEqualTo(502);
            assertThat(problem.get("exit").asInt()).isEqualTo(3);
            assertThat(problem.get("lastLines").get(0).stringValue()).isEqualTo("boom");
            assertThat(pids(shepherd)).isEqualTo(before);
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> response = shepherd.get("/");
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(before).contains(Long.parseLong(response.body().lines().findFirst().orElseThrow().substring(4)));
            }
            JsonNode generations = get(shepherd, "/fleet").get("generations");
            assertThat(generations).hasSize(1);
            assertThat(generations.get(0).get("generation").asLong()).isEqualTo(1);
            assertThat(generations.get(0).get("current").asBoolean()).isTrue();
            assertThat(generations.get(0).get("spec").get("command")).isEqualTo(command);
            assertThat(get(shepherd, "/fleet").get("reload").get("state").stringValue()).isEqualTo("FAILED");
            assertThat(shepherd.admin("GET", "/fleet/events", null).body()).contains("RELOAD_FAILED", "boom");
        }
    }

    @Test
    void newWorkersThatTookOverBeforeTheReloadFailedAreReplacedBackWithTheOldSpec() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.drain-timeout=2s")) {
            long secondPid = shepherd.snapshot().workers().stream().filter(worker -> worker.index() == 1).findFirst()
                    .orElseThrow().pid();
            // The new spec serves on slot 0 and dies on slot 1: slot 0's new worker takes over, then slot 1's fails.
            String echo = RunningShepherd.javaCommand(EchoWorker.class).stream().map(arg -> "'" + arg + "'")
                    .collect(java.util.stream.Collectors.joining(" "));
            List<String> command = List.of("sh", "-c", "if [ {index} = 1 ]; then echo boom >&2; exit 3; fi; exec " + echo
                    + " new-spec");

            JsonNode status = reloadAndWait(shepherd, Map.of("command", command));

            assertThat(status.get("state").stringValue()).isEqualTo("FAILED");
            assertThat(status.get("replaced").asInt()).isEqualTo(1);
            assertThat(status.get("problem").get("lastLines").get(0).stringValue()).isEqualTo("boom");
            // The rollback: slot 0 runs generation 1 again, with the old command; slot 1 never changed.
            await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.snapshot().workers().stream()
                    .allMatch(worker -> worker.generation() == 1 && worker.state() == dev.shepherd.worker.WorkerState.READY)
                    && shepherd.snapshot().workers().size() == 2);
            assertThat(shepherd.snapshot().workers()).anySatisfy(worker -> assertThat(worker.pid()).isEqualTo(secondPid));
            assertThat(whoami(shepherd)).hasSize(2).allSatisfy(answer -> assertThat(answer).contains("args=\n"));
            JsonNode generations = get(shepherd, "/fleet").get("generations");
            assertThat(generations).hasSize(1);
            assertThat(generations.get(0).get("generation").asLong()).isEqualTo(1);
            assertThat(shepherd.admin("GET", "/fleet/events", null).body()).contains("rollback: worker");
        }
    }

    @Test
    void readinessIsProbedOnThePathTheReloadGave() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                // Long enough for a test JVM to start on a loaded machine: the failing case waits for all of it.
                "--fleet.worker.startup-timeout=15s", "--fleet.liveness.interval=1m")) {
            // NEVER_READY makes /health answer 503: on the configured path the new worker never gets READY ...
            JsonNode onHealth = reloadAndWait(shepherd, Map.of("environment", Map.of("NEVER_READY", "1")));
            assertThat(onHealth.get("state").stringValue()).isEqualTo("FAILED");
            assertThat(onHealth.get("reason").stringValue()).as("with what the probe saw")
                    .contains("was not READY within 15000 ms (last readiness probe: GET /health answered 503) and was killed");

            // ... while /ready answers 200 whatever it says.
            JsonNode onReady = reloadAndWait(shepherd, Map.of("environment", Map.of("NEVER_READY", "1"),
                    "readinessPath", "/ready"));

            assertThat(onReady.get("state").stringValue()).isEqualTo("SUCCEEDED");
            assertThat(onReady.get("generation").asLong()).isEqualTo(3);
            assertThat(get(shepherd, "/fleet").get("generations")).filteredOn(generation -> generation.get("current").asBoolean())
                    .singleElement().satisfies(current -> assertThat(current.get("spec").get("readinessPath").stringValue())
                            .isEqualTo("/ready"));
        }
    }

    @Test
    void invalidBodyIsRefusedWithAProblemAndNothingStarts() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand())) {
            Set<Long> before = pids(shepherd);

            HttpResponse<String> typo = shepherd.admin("POST", "/fleet/reload", "{\"comand\": [\"node\"]}");
            HttpResponse<String> missing = shepherd.admin("POST", "/fleet/reload",
                    json(Map.of("workingDirectory", directory.resolve("nope").toString())));

            assertThat(typo.statusCode()).isEqualTo(400);
            assertThat(typo.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type)
                    .startsWith("application/problem+json"));
            assertThat(typo.body()).contains("there is no field 'comand'");
            assertThat(missing.statusCode()).isEqualTo(400);
            assertThat(missing.body()).contains("workingDirectory", "does not exist");
            assertThat(get(shepherd, "/fleet/reload").get("state").stringValue()).isEqualTo("IDLE");
            assertThat(pids(shepherd)).isEqualTo(before);
        }
    }
}
