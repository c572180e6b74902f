package dev.shepherd.fleet;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The workers holding the slots have exactly the indexes 0..N-1, in {@code /fleet} and in their own environment,
 * through kill -9s, a rolling reload, scaling 2 → 4 → 2 and an admin restart that gives index 0 the newest id; a
 * worker id that left is answered with where it went.
 */
class WorkerIndexIntegrationTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void indexesStayZeroToNMinusOneThroughKillsAReloadAndScaling() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand())) {
            Map<Integer, Integer> indexById = indexes(shepherd, 2);
            assertThat(environment(shepherd, 0)).containsEntry("SHEPHERD_WORKER_COUNT", "2");

            for (int kill = 0; kill < 2; kill++) {
                JsonNode victim = fleet(shepherd).get("workers").get(kill);
                long pid = victim.get("pid").asLong();
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                await().atMost(Duration.ofSeconds(60)).until(() -> !shepherd.readyPids().contains(pid)
                        && shepherd.readyPids().size() == 2);
                shepherd.awaitReady(2);
                assertThat(indexes(shepherd, 2)).as("a restarted worker keeps its index").isEqualTo(indexById);
            }

            assertThat(shepherd.admin("POST", "/fleet/reload", null).statusCode()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(120)).until(() -> shepherd.snapshot().reload().state() == ReloadStatus.State.SUCCEEDED
                    && shepherd.snapshot().workers().size() == 2);
            shepherd.awaitReady(2);
            Map<Integer, Integer> afterReload = indexes(shepherd, 2);
            assertThat(afterReload.keySet()).as("new workers").doesNotContainAnyElementsOf(indexById.keySet());
            // PM2's ids stay across a reload, Shepherd's do not: an old id is answered with where it went (a new
            // user's `restart 1` after a reload was told only that worker 1 was not in the fleet).
            int gone = idOf(indexById, 0);
            for (HttpResponse<String> answer : List.of(shepherd.admin("POST", "/fleet/workers/" + gone + "/replace", null),
                    shepherd.admin("GET", "/fleet/workers/" + gone, null))) {
                assertThat(answer.statusCode()).isEqualTo(404);
                assertThat(answer.body()).contains("Worker " + gone + " is not in the fleet: it left the fleet at ",
                        "worker " + idOf(afterReload, 0) + " holds its index 0 now. GET /fleet");
            }
            assertThat(shepherd.admin("GET", "/fleet/workers/9999", null).body())
                    .contains("Worker 9999 is not in the fleet; GET /fleet");

            assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 4}").statusCode()).isEqualTo(202);
            shepherd.awaitReady(4);
            Map<Integer, Integer> scaledUp = indexes(shepherd, 4);
            assertThat(scaledUp).as("the workers there before keep theirs").containsAllEntriesOf(afterReload);
            assertThat(environment(shepherd, 3)).containsEntry("SHEPHERD_WORKER_COUNT", "4");

            // Restarted, index 0 gets the newest id: a scale-down must still keep it.
            int first = idOf(scaledUp, 0);
            assertThat(shepherd.admin("POST", "/fleet/workers/" + first + "/replace", null).statusCode()).isEqualTo(202);
            // Asked again while its replacement starts (surge first: the worker is still READY): one clear reason.
            java.net.http.HttpResponse<String> again = shepherd.admin("POST", "/fleet/workers/" + first + "/replace", null);
            assertThat(again.statusCode()).isEqualTo(409);
            assertThat(again.body()).contains("Worker " + first + " is already being replaced by worker ")
                    .doesNotContain("only a READY worker");
            await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.snapshot().workers().size() == 4
                    && shepherd.snapshot().workers().stream().noneMatch(worker -> worker.id() == first));
            shepherd.awaitReady(4);
            Map<Integer, Integer> restarted = indexes(shepherd, 4);
            assertThat(idOf(restarted, 0)).as("the newest id").isGreaterThan(idOf(restarted, 3));

            assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 2}").statusCode()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.snapshot().workers().size() == 2);
            shepherd.awaitReady(2);
            Map<Integer, Integer> scaledDown = indexes(shepherd, 2);
            assertThat(scaledDown).as("the highest indexes were retired")
                    .containsOnlyKeys(idOf(restarted, 0), idOf(restarted, 1));
        }
    }

    /**
     * Checks that the workers in {@code /fleet} have the indexes 0..count-1 and that each one's environment says the
     * same; returns index by worker id.
     */
    private static Map<Integer, Integer> indexes(RunningShepherd shepherd, int count) throws IOException, InterruptedException {
        Map<Integer, Integer> indexById = new HashMap<>();
        List<Integer> indexes = new ArrayList<>();
        for (JsonNode worker : fleet(shepherd).get("workers")) {
            int index = worker.get("index").asInt();
            indexes.add(index);
            indexById.put(worker.get("id").asInt(), index);
            Map<String, String> environment = environment(worker.get("port").asInt(), shepherd);
            assertThat(environment).as("environment of worker %s", worker.get("id"))
                    .containsEntry("SHEPHERD_WORKER_ID", worker.get("id").asString())
                    .containsEntry("SHEPHERD_WORKER_INDEX", Integer.toString(index))
                    .containsEntry("NODE_APP_INSTANCE", Integer.toString(index));
        }
        assertThat(indexes).containsExactlyInAnyOrderElementsOf(IntStream.range(0, count).boxed().toList());
        return indexById;
    }

    private static int idOf(Map<Integer, Integer> indexById, int index) {
        return indexById.entrySet().stream().filter(entry -> entry.getValue() == index).findFirst().orElseThrow().getKey();
    }

    private static JsonNode fleet(RunningShepherd shepherd) {
        HttpResponse<String> response = shepherd.admin("GET", "/fleet", null);
        assertThat(response.statusCode()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static Map<String, String> environment(RunningShepherd shepherd, int index) throws IOException, InterruptedException {
        for (JsonNode worker : fleet(shepherd).get("workers")) {
            if (worker.get("index").asInt() == index) {
                return environment(worker.get("port").asInt(), shepherd);
            }
        }
        throw new AssertionError("no worker with index " + index);
    }

    /** What the worker itself reads from its environment, asked on its own port. */
    private static Map<String, String> environment(int port, RunningShepherd shepherd) throws IOException, InterruptedException {
        HttpResponse<String> response = shepherd.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/env"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        Map<String, String> environment = new HashMap<>();
        response.body().lines().map(line -> line.split("=", 2)).forEach(pair -> environment.put(pair[0], pair[1]));
        return environment;
    }
}
