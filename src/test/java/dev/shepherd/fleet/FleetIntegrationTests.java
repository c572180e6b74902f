package dev.shepherd.fleet;

import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class FleetIntegrationTests {

    @Test
    void requestsAreBalancedRoundRobinOverTheReadyWorkers() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2")) {
            List<String> bodies = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                HttpResponse<String> response = shepherd.get("/");
                assertThat(response.statusCode()).isEqualTo(200);
                bodies.add(response.body());
            }
            assertThat(new HashSet<>(bodies)).hasSize(2);
            for (int i = 2; i < bodies.size(); i++) {
                assertThat(bodies.get(i)).isEqualTo(bodies.get(i - 2));
            }
            assertThat(bodies.get(0)).startsWith("Process handled by pid: ");
            Set<String> pids = new HashSet<>();
            shepherd.readyPids().forEach(pid -> pids.add("Process handled by pid: " + pid));
            assertThat(new HashSet<>(bodies)).isEqualTo(pids);
        }
    }

    @Test
    void killedWorkerIsReplacedWhileRequestsKeepSucceeding() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2")) {
            WorkerSnapshot victim = shepherd.snapshot().workers().get(0);
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<List<Integer>> traffic = CompletableFuture.supplyAsync(() -> {
                List<Integer> statuses = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!stop.get() && statuses.size() < 5000 && System.nanoTime() < deadline) {
                    statuses.add(shepherd.get("/").statusCode());
                }
                return statuses;
            });
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().workers().get(0).requests() > 5);

            ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                WorkerSnapshot healed = shepherd.snapshot().workers().stream().filter(w -> w.id() == victim.id())
                        .findFirst().orElseThrow();
                assertThat(healed.state()).isEqualTo(WorkerState.READY);
                assertThat(healed.pid()).isNotEqualTo(victim.pid());
                assertThat(healed.restarts()).isEqualTo(1);
                assertThat(healed.lastExit().code()).isEqualTo(137);
                assertThat(healed.lastExit().signal()).isEqualTo("KILL");
            });
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.snapshot().workers().stream()
                    .filter(w -> w.id() == victim.id()).findFirst().orElseThrow().requests() > 5);
            stop.set(true);
            List<Integer> statuses = traffic.get();
            assertThat(statuses).isNotEmpty().allMatch(status -> status == 200);
        }
    }

    @Test
    void workerThatCannotStartIsShownAsFailedAndTheMasterKeepsServing() {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command=/nonexistent/worker-binary,--port,{port}", "--fleet.proxy.queue-timeout=100ms")) {
            // Right after start the first snapshot may not be published yet: no worker in it.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(shepherd.snapshot().workers())
                    .singleElement().satisfies(worker -> {
                        assertThat(worker.state()).isEqualTo(WorkerState.FAILED);
                        assertThat(worker.lastExit().reason()).contains("cannot start").contains("/nonexistent/worker-binary");
                    }));
            HttpResponse<String> response = shepherd.get("/");
            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(response.headers().firstValue("Retry-After")).isPresent();
            assertThat(response.body()).contains("no worker became READY");
            assertThat(shepherd.admin("GET", "/fleet", null).body()).contains("cannot start");
        }
    }
}
