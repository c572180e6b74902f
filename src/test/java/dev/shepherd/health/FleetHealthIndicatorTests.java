package dev.shepherd.health;

import dev.shepherd.fleet.ExitCause;
import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.MAP;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

class FleetHealthIndicatorTests {

    private static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");

    private final WorkerFleetService fleet = mock(WorkerFleetService.class);
    private final FleetSnapshot snapshot = mock(FleetSnapshot.class);
    private final FleetHealthIndicator indicator = new FleetHealthIndicator(fleet, properties(2));

    @Test
    void upWhenAtLeastMinReadyWorkersAreReady() {
        fleet(4, 2, List.of());

        Health health = indicator.health();

        assertThat(health.getStatus()).isEqualTo(Status.UP);
        assertThat(health.getDetails()).containsEntry("desired", 4).containsEntry("ready", 2).containsEntry("minReady", 2)
                .doesNotContainKey("lastCrash");
    }

    @Test
    void degradedWhenSomeButFewerThanMinReadyAreReady() {
        fleet(4, 1, List.of());

        assertThat(indicator.health().getStatus()).isEqualTo(FleetHealthIndicator.DEGRADED);
    }

    @Test
    void downWhenNoWorkerIsReady() {
        fleet(4, 0, List.of());

        assertThat(indicator.health().getStatus()).isEqualTo(Status.DOWN);
    }

    @Test
    void countsStartingAndCrashLoopingWorkers() {
        WorkerExit crashed = new WorkerExit(100, 1, null, NOW, Duration.ofMillis(5), "crashed", List.of());
        fleet(3, 0, List.of(worker(1, WorkerState.STARTING, null), worker(2, WorkerState.FAILED, crashed),
                worker(3, WorkerState.FAILED, crashed)));
        given(snapshot.count(WorkerState.STARTING)).willReturn(1L);

        assertThat(indicator.health().getDetails()).containsEntry("starting", 1L).containsEntry("crashLooping", 2L)
                .containsEntry("cannotStart", 0L);
    }

    @Test
    void workerWhoseProgramCannotStartIsNotCountedAsCrashLooping() {
        WorkerExit cannotStart = new WorkerExit(0, -1, null, NOW, Duration.ZERO, "cannot start: No such file", List.of());
        WorkerExit crashed = new WorkerExit(100, 1, null, NOW, Duration.ofMillis(5), "crashed", List.of());
        fleet(2, 0, List.of(worker(1, WorkerState.FAILED, cannotStart), worker(2, WorkerState.FAILED, crashed)));

        assertThat(indicator.health().getDetails()).containsEntry("crashLooping", 1L).containsEntry("cannotStart", 1L);
    }

    @Test
    void showsTheLatestCrashButNotACleanExit() {
        WorkerExit older = new WorkerExit(100, 1, null, NOW.minusSeconds(20), Duration.ofSeconds(5), "crashed", List.of());
        WorkerExit latest = new WorkerExit(200, 137, "KILL", NOW.minusSeconds(10), Duration.ofSeconds(5), "crashed", List.of());
        WorkerExit clean = new WorkerExit(300, 0, null, NOW, Duration.ofSeconds(5), "stopped", List.of());
        fleet(3, 3, List.of(worker(1, WorkerState.READY, older), worker(2, WorkerState.READY, latest),
                worker(3, WorkerState.READY, clean)));

        assertThat(indicator.health().getDetails().get("lastCrash")).isEqualTo(Map.of("worker", 2, "pid", 200L, "code", 137,
                "signal", "KILL", "at", NOW.minusSeconds(10).toString(), "reason", "crashed"));
    }

    @Test
    void theLatestCrashSaysItsErrorLine() {
        WorkerExit crashed = new WorkerExit(100, 1, null, NOW, Duration.ofSeconds(5), "crashed", List.of("Node.js v20"),
                "Error: Cannot find module 'pg'");
        fleet(1, 1, List.of(worker(1, WorkerState.READY, crashed)));

        assertThat(indicator.health().getDetails().get("lastCrash")).isEqualTo(Map.of("worker", 1, "pid", 100L, "code", 1,
                "at", NOW.toString(), "reason", "crashed", "errorLine", "Error: Cannot find module 'pg'"));
    }

    /** Found by a new user: a worker killed for not getting READY in time was the health's last crash, as if it crashed. */
    @Test
    void theLatestFailureSaysWhetherItWasACrashOrAStartupTimeout() {
        WorkerExit crashed = new WorkerExit(100, 1, null, NOW.minusSeconds(20), Duration.ofSeconds(5), "crashed", List.of());
        WorkerExit timedOut = new WorkerExit(200, 137, "KILL", NOW.minusSeconds(10), Duration.ofSeconds(60),
                "not READY within 60000 ms", List.of());
        fleet(2, 1, List.of(worker(1, WorkerState.READY, crashed, ExitCause.CRASHED),
                worker(2, WorkerState.STARTING, timedOut, ExitCause.STARTUP_TIMEOUT)));

        assertThat(indicator.health().getDetails().get("lastCrash")).isEqualTo(Map.of("worker", 2, "cause",
                "startup-timeout", "pid", 200L, "code", 137, "signal", "KILL", "at", NOW.minusSeconds(10).toString(),
                "reason", "not READY within 60000 ms"));

        fleet(2, 1, List.of(worker(1, WorkerState.READY, crashed, ExitCause.CRASHED)));
        assertThat(indicator.health().getDetails().get("lastCrash")).asInstanceOf(MAP).containsEntry("cause", "crash");
    }

    /**
     * Found by a new user: the Python example exits 0 on TERM, so a worker stopped for its liveness probe or its
     * memory never showed as the last failure. A clean exit counts when the master stopped the worker for failing;
     * not when it stopped it on purpose, nor when the worker left on its own.
     */
    @Test
    void aWorkerStoppedForFailingIsTheLastFailureThoughItExitedZero() {
        WorkerExit hung = new WorkerExit(100, 0, null, NOW.minusSeconds(10), Duration.ofSeconds(5),
                "liveness probe failed", List.of());
        WorkerExit retired = new WorkerExit(200, 0, null, NOW.minusSeconds(5), Duration.ofSeconds(5), "replaced",
                List.of());
        fleet(2, 1, List.of(worker(1, WorkerState.READY, hung, ExitCause.HUNG),
                worker(2, WorkerState.READY, retired, ExitCause.REPLACED)));
        assertThat(indicator.health().getDetails().get("lastCrash")).asInstanceOf(MAP).containsEntry("worker", 1)
                .containsEntry("cause", "liveness").containsEntry("code", 0);

        fleet(2, 1, List.of(worker(1, WorkerState.READY, hung, ExitCause.EXITED_CLEANLY)));
        assertThat(indicator.health().getDetails()).doesNotContainKey("lastCrash");
    }

    private void fleet(int desired, int ready, List<WorkerSnapshot> workers) {
        given(fleet.snapshot()).willReturn(snapshot);
        given(snapshot.desired()).willReturn(desired);
        given(snapshot.inRotation()).willReturn(ready);
        given(snapshot.workers()).willReturn(workers);
    }

    private static WorkerSnapshot worker(int id, WorkerState state, WorkerExit lastExit) {
        return worker(id, state, lastExit, null);
    }

    private static WorkerSnapshot worker(int id, WorkerState state, WorkerExit lastExit, ExitCause cause) {
        return new WorkerSnapshot(id, id - 1, 1000 + id, 40_000 + id, state, 1, 0, NOW, 0, lastExit, cause, null, null,
                null, null);
    }

    private static FleetProperties properties(int minReady) {
        return new Binder(new MapConfigurationPropertySource(Map.of("fleet.health.min-ready", Integer.toString(minReady))))
                .bindOrCreate("fleet", FleetProperties.class);
    }
}
