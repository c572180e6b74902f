package dev.shepherd.ctl;

import dev.shepherd.fleet.ExitCause;
import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code shepherd signal} and {@code POST /fleet/workers/{id}/signal}, {@code POST /fleet/signal} against a master
 * whose workers are real Node processes ({@code src/test/js/signal-counting-worker.js}) that count the HUP and USR2
 * they get, answer the counts over HTTP, and leave INT to Node's default, which ends them.
 */
@ExtendWith(OutputCaptureExtension.class)
class SignalIntegrationTests {

    private static final String TOKEN = "signal-token";
    private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + TOKEN);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static RunningShepherd shepherd;
    private static Map<String, String> env;

    @BeforeAll
    static void start() {
        Tools.assumeNode();
        shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.admin.token=" + TOKEN,
                "--fleet.worker.command=node," + NodeModules.script("signal-counting-worker.js"),
                "--fleet.worker.drain-timeout=2s", "--fleet.worker.kill-timeout=2s",
                "--fleet.restart.crash-loop-restarts=1");
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + shepherd.adminPort(), "SHEPHERD_ADMIN_TOKEN", TOKEN);
    }

    @AfterAll
    static void stop() {
        if (shepherd != null) {
            shepherd.close();
        }
    }

    @Test
    void aHandledSignalReachesTheWorkersProcessAloneWhichKeepsServing(CapturedOutput output) {
        List<WorkerSnapshot> ready = readyWorkers();
        WorkerSnapshot worker = ready.get(0);
        WorkerSnapshot other = ready.get(1);
        JsonNode before = counts(worker);
        JsonNode otherBefore = counts(other);

        CtlTests.Result usr2 = CtlTests.run(env, "signal", "SIGUSR2", Integer.toString(worker.id()));
        HttpResponse<String> hup = shepherd.admin("POST", "/fleet/workers/" + worker.id() + "/signal",
                "{\"signal\": \"hup\"}", AUTH);

        assertThat(usr2.code()).as(usr2.err()).isZero();
        assertThat(usr2.out()).isEqualTo("sent USR2 to worker " + worker.id() + "\n");
        assertThat(hup.statusCode()).isEqualTo(202);
        assertThat(hup.body()).isEqualTo("{\"worker\":" + worker.id() + ",\"signal\":\"HUP\"}");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode after = counts(worker);
            assertThat(after.path("USR2").asInt()).isEqualTo(before.path("USR2").asInt() + 1);
            assertThat(after.path("HUP").asInt()).isEqualTo(before.path("HUP").asInt() + 1);
        });
        JsonNode after = counts(worker);
        assertThat(after.path("pid").asLong()).as("the same process, serving on").isEqualTo(worker.pid());
        assertThat(after.path("childAlive").asBoolean()).as("its child, which handles neither, did not get them")
                .isTrue();
        assertThat(ProcessHandle.of(after.path("child").asLong())).hasValueSatisfying(child ->
                assertThat(child.isAlive()).isTrue());
        assertThat(counts(other)).as("the other worker got nothing").isEqualTo(otherBefore);
        WorkerSnapshot now = worker(worker.id());
        assertThat(now.state()).isEqualTo(WorkerState.READY);
        assertThat(now.restarts()).isEqualTo(worker.restarts());
        for (int i = 0; i < 4; i++) {
            assertThat(shepherd.get("/").statusCode()).isEqualTo(200);
        }

        assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.SIGNAL_SENT
                        && event.workerId() == worker.id()).extracting(FleetEvent::message).endsWith(
                "USR2 sent to worker " + worker.id() + " on request (POST /fleet/workers/" + worker.id() + "/signal)",
                "HUP sent to worker " + worker.id() + " on request (POST /fleet/workers/" + worker.id() + "/signal)");
        assertThat(shepherd.admin("GET", "/fleet/events", null, AUTH).body()).contains("\"type\":\"SIGNAL_SENT\"");
        assertThat(output.getOut()).containsPattern("INFO .*SIGNAL_SENT: USR2 sent to worker " + worker.id()
                + " on request \\(POST /fleet/workers/" + worker.id() + "/signal\\) \\(pid " + worker.pid() + "\\)");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(CtlTests.run(env, "logs",
                Integer.toString(worker.id()), "-n", "20").out()).contains("got SIGUSR2", "got SIGHUP"));
    }

    @Test
    void aSignalToAllReachesEveryWorker() {
        List<WorkerSnapshot> ready = readyWorkers();
        Map<Integer, Integer> before = new java.util.HashMap<>();
        ready.forEach(worker -> before.put(worker.id(), counts(worker).path("USR2").asInt()));

        CtlTests.Result all = CtlTests.run(env, "sendSignal", "12", "all");

        assertThat(all.code()).as(all.err()).isZero();
        assertThat(all.out()).isEqualTo("sent USR2 to workers " + ready.get(0).id() + ", " + ready.get(1).id() + "\n");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> ready.forEach(worker ->
                assertThat(counts(worker).path("USR2").asInt()).isEqualTo(before.get(worker.id()) + 1)));
        assertThat(readyWorkers()).extracting(WorkerSnapshot::pid).containsExactlyElementsOf(
                ready.stream().map(WorkerSnapshot::pid).toList());
    }

    /** INT, which the worker leaves to Node's default: it ends by it and is restarted, told as the signal's doing. */
    @Test
    void aWorkerThatDoesNotHandleTheSignalEndsByItAndIsRestartedToldAsTheSignals() {
        WorkerSnapshot worker = readyWorkers().get(1);

        for (int round = 1; round <= 3; round++) {
            long pid = worker(worker.id()).pid();
            CtlTests.Result sent = CtlTests.run(env, "signal", "int", Integer.toString(worker.id()));
            assertThat(sent.out()).as(sent.err()).isEqualTo("sent INT to worker " + worker.id() + "\n");
            await().atMost(Duration.ofSeconds(20)).until(() -> worker(worker.id()).state() == WorkerState.READY
                    && worker(worker.id()).pid() != pid);
            WorkerSnapshot restarted = worker(worker.id());
            assertThat(restarted.restarts()).isEqualTo(worker.restarts() + round);
            assertThat(restarted.lastExit().signal()).isEqualTo("INT");
            assertThat(restarted.lastExit().code()).isEqualTo(130);
            assertThat(restarted.lastExit().reason()).matches("ended by INT, sent on request \\d+ ms before: the "
                    + "program does not handle INT, whose default action ends a process");
            assertThat(restarted.lastExitCause()).isEqualTo(ExitCause.SIGNALLED);
        }
        assertThat(shepherd.fleet().events().recent()).as("three in a row, past crash-loop-restarts: no crash loop")
                .noneMatch(event -> event.type() == FleetEvent.Type.CRASH_LOOP);
        assertThat(shepherd.admin("GET", "/actuator/prometheus", null, AUTH).body())
                .contains("shepherd_worker_restarts_total{reason=\"signal\"} 3.0");
        assertThat(shepherd.admin("GET", "/actuator/health", null, AUTH).body())
                .contains("\"lastCrash\":{\"worker\":" + worker.id() + ",\"cause\":\"signal\"", "\"signal\":\"INT\"");
        assertThat(CtlTests.run(env, "ls").out()).contains("ended by INT");
    }

    @Test
    void refusalsOfTheRealMasterAreProblemsAndExit1() {
        HttpResponse<String> stop = shepherd.admin("POST", "/fleet/signal", "{\"signal\": \"SIGSTOP\"}", AUTH);
        assertThat(stop.statusCode()).isEqualTo(400);
        assertThat(stop.headers().firstValue("Content-Type")).hasValueSatisfying(type ->
                assertThat(type).startsWith("application/problem+json"));
        assertThat(JSON.readTree(stop.body()).path("detail").asString()).startsWith("signal must be one of HUP, INT, "
                + "QUIT, USR1, USR2").contains("STOP freezes a worker");
        HttpResponse<String> unknown = shepherd.admin("POST", "/fleet/workers/999/signal", "{\"signal\": \"USR2\"}", AUTH);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.headers().firstValue("Content-Type")).hasValueSatisfying(type ->
                assertThat(type).startsWith("application/problem+json"));

        CtlTests.Result missing = CtlTests.run(env, "signal", "USR2", "999");
        assertThat(missing.code()).isEqualTo(Ctl.FAILED);
        assertThat(missing.err()).contains("Worker 999 is not in the fleet");
        assertThat(CtlTests.run(Map.of("SHEPHERD_ADMIN_URL", env.get("SHEPHERD_ADMIN_URL")), "signal", "USR2", "all")
                .code()).as("no token").isEqualTo(Ctl.FAILED);
    }

    private static List<WorkerSnapshot> readyWorkers() {
        shepherd.awaitReady(2);
        return shepherd.snapshot().workers().stream().sorted(java.util.Comparator.comparingInt(WorkerSnapshot::id))
                .toList();
    }

    private static WorkerSnapshot worker(int id) {
        return shepherd.snapshot().workers().stream().filter(worker -> worker.id() == id).findFirst().orElseThrow();
    }

    /** The worker's counts, asked of it directly on its own port. */
    private static JsonNode counts(WorkerSnapshot worker) {
        HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + worker(worker.id()).port() + "/counts")).timeout(Duration.ofSeconds(5))
                .GET().build());
        assertThat(response.statusCode()).isEqualTo(200);
        return JSON.readTree(response.body());
    }
}
