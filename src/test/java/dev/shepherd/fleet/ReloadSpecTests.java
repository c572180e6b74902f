package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** A reload with a new worker spec, on a supervisor with fake processes: what each generation runs, and when. */
class ReloadSpecTests {

    private static final List<String> V1 = List.of("app", "v1", "--port={port}");
    private static final List<String> V2 = List.of("app", "v2", "--port={port}");

    private static SupervisorHarness fleetOfTwo(String... extra) {
        String[] config = {"fleet.workers", "2", "fleet.worker.command[0]", "app", "fleet.worker.command[1]", "v1",
                "fleet.worker.command[2]", "--port={port}", "fleet.worker.environment[KEEP]", "kept",
                "fleet.worker.environment[OLD_VAR]", "v4lue-old"};
        String[] all = new String[config.length + extra.length];
        System.arraycopy(config, 0, all, 0, config.length);
        System.arraycopy(extra, 0, all, config.length, extra.length);
        return new SupervisorHarness(all).started();
    }

    private static WorkerSpecPatch toV2() {
        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("FEATURE_X", "v4lue-on");
        environment.put("OLD_VAR", null);
        return new WorkerSpecPatch(V2, environment, null, null);
    }

    private static CompletableFuture<ReloadStatus> reload(SupervisorHarness fleet, WorkerSpecPatch patch) {
        return fleet.command(new SupervisorEvent.Reload(patch, new CompletableFuture<>()));
    }

    /** A reload to "app v3" whose first new worker exits before READY: failed, and rolled back at once. */
    private static void failAReloadToV3(SupervisorHarness fleet) {
        fleet.readiness.answerAll(false);
        reload(fleet, new WorkerSpecPatch(List.of("app", "v3"), null, null, null)).join();
        WorkerSnapshot v3 = fleet.snapshot().workers().stream()
                .filter(worker -> worker.state() == WorkerState.STARTING).findFirst().orElseThrow();
        fleet.process(v3.id()).exit(1);
        fleet.queue.drain();
        fleet.queue.advance(Duration.ofSeconds(5));
    }

    private static List<String> commandOf(SupervisorHarness fleet, int workerId) {
        FakeLauncher.FakeProcess process = fleet.process(workerId);
        return process.spec.command().stream().map(arg -> arg.replaceAll("=\\d+$", "=PORT")).toList();
    }

    /**
     * Found by an attacking helper: new workers that crashed a moment after READY took over at READY, so the reload
     * drained every good worker, SUCCEEDED, and left the fleet DOWN on the broken spec. Now a reload's new worker
     * takes over once READY for fleet.restart.min-uptime; one that exits sooner fails the reload.
     */
    @Test
    void aNewWorkerThatCrashesSoonAfterReadyFailsTheReloadBeforeItTakesOver() {
        SupervisorHarness fleet = fleetOfTwo();
        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofMillis(500));
        assertThat(fleet.worker(3).state()).isEqualTo(WorkerState.READY);
        assertThat(fleet.states()).as("both serve until it has stayed READY").containsExactly(WorkerState.READY,
                WorkerState.READY, WorkerState.READY);

        fleet.process(3).exit(1);
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.snapshot().reload().reason()).startsWith("worker 3 (generation 2) ");
        assertThat(fleet.snapshot().spec().command()).isEqualTo(V1);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactly(1, 2);
        assertThat(fleet.states()).containsExactly(WorkerState.READY, WorkerState.READY);
    }

    @Test
    void theLastNewWorkerCrashingSoonAfterReadyFailsTheReloadTooAndTheFirstIsReplacedBack() {
        SupervisorHarness fleet = fleetOfTwo();
        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofMillis(1_500));
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).as("3 took over from 1").containsExactly(2, 3, 4);

        fleet.process(4).exit(1);
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.snapshot().spec().command()).isEqualTo(V1);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::generation).as("rolled back").containsOnly(1L);
        assertThat(fleet.states()).containsOnly(WorkerState.READY).hasSize(2);
    }

    /**
     * Found by an attacking helper: the failure's log line quoted the worker's last lines raw, so an escape sequence
     * it wrote ran on every terminal that followed the master's log. The reason in the API keeps them as written.
     */
    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void theFailuresLogLineShowsTheWorkersControlCharactersInCaretNotation(CapturedOutput output) {
        SupervisorHarness fleet = fleetOfTwo();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        fleet.supervisor.find(3).orElseThrow().logs.add(new LogBuffer.Line(fleet.process(3).pid(), Instant.EPOCH,
                "boom\u001b[2J\u001b]52;c;cHduZWQ=\u0007"));

        fleet.process(3).exit(1);
        fleet.queue.drain();

        assertThat(fleet.snapshot().reload().reason()).contains("boom\u001b[2J");
        assertThat(output.getOut()).contains("Rolling reload to generation 2 failed", "boom^[[2J^[]52;c;cHduZWQ=^G")
                .doesNotContain("\u001b");
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void aMinUptimeOfZeroIsWarnedAbout(CapturedOutput output) {
        fleetOfTwo();
        assertThat(output.getOut()).doesNotContain("fleet.restart.min-uptime is 0");

        fleetOfTwo("fleet.restart.min-uptime", "0s");

        assertThat(output.getOut()).contains("WARN", "fleet.restart.min-uptime is 0: any worker that was READY at all ran, "
                + "so one that crashes right after READY restarts after 100 ms every time");
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void settingsThatCannotDoAllTheySayAreWarnedAbout(CapturedOutput output) {
        fleetOfTwo("fleet.restart.min-uptime", "10s", "fleet.worker.max-requests-jitter", "5",
                "fleet.worker.max-requests", "100");
        assertThat(output.getOut()).doesNotContain("fleet.restart.min-uptime is", "fleet.worker.max-requests-jitter is",
                "fleet.health.min-ready is");

        fleetOfTwo("fleet.restart.min-uptime", "30s", "fleet.worker.max-requests-jitter", "5");
        fleetOfTwo("fleet.restart.min-uptime", "10001ms");
        fleetOfTwo("fleet.health.min-ready", "3");

        assertThat(output.getOut()).contains("WARN", "fleet.restart.min-uptime is 30 s: a reload's new worker still "
                + "takes over after 10 s READY at most", "fleet.worker.max-requests-jitter is 5 but "
                + "fleet.worker.max-requests is 0 (no limit): the jitter is added to max-requests and does nothing without it",
                "fleet.restart.min-uptime is 10001 ms: a reload's", "fleet.health.min-ready is 3 but fleet.workers is 2: "
                + "the fleet's health stays DEGRADED until it is scaled to 3 or more");
    }

    /**
     * Found by an attacking helper: with crashes 0.2 to 3 s after READY, the workers that had taken over crashed and
     * were restarted on the new spec while the reload went on, and it SUCCEEDED.
     */
    @Test
    void aNewWorkerThatTookOverAndThenCrashesWhileTheReloadRunsFailsItAndEverySlotIsRolledBack() {
        SupervisorHarness fleet = fleetOfTwo();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        fleet.queue.post(new SupervisorEvent.ProbePassed(fleet.supervisor.find(3).orElseThrow(), fleet.process(3),
                SupervisorEvent.ProbeKind.READINESS));
        fleet.queue.advance(Duration.ofMillis(1_500));
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).as("3 took over, 4 starts")
                .containsExactly(2, 3, 4);

        fleet.process(3).exit(1);
        fleet.readiness.answerAll(true);
        fleet.queue.advance(Duration.ofSeconds(10));

        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.snapshot().reload().reason())
                .startsWith("worker 3 (generation 2) exited with code 1 after it took over, while the reload ran");
        assertThat(fleet.snapshot().spec().command()).isEqualTo(V1);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::generation).as("rolled back").containsOnly(1L);
        assertThat(fleet.states()).containsOnly(WorkerState.READY).hasSize(2);
    }

    @Test
    void aLongMinUptimeHoldsEachStepTenSecondsAtMost() {
        SupervisorHarness fleet = fleetOfTwo("fleet.restart.min-uptime", "30s");
        reload(fleet, toV2()).join();

        fleet.queue.advance(Duration.ofSeconds(9));
        assertThat(fleet.snapshot().reload().replaced()).isZero();
        fleet.queue.advance(Duration.ofSeconds(1));
        assertThat(fleet.snapshot().reload().replaced()).isEqualTo(1);
        fleet.queue.advance(Duration.ofSeconds(10));
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.SUCCEEDED);
    }

    @Test
    void newGenerationRunsThePatchedSpecWhichBecomesCurrentWhenTheReloadSucceeded() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec before = fleet.snapshot().spec();

        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.SUCCEEDED);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactly(3, 4);
        for (int id : new int[] {3, 4}) {
            assertThat(commandOf(fleet, id)).containsExactly("app", "v2", "--port=PORT");
            assertThat(fleet.process(id).spec.environment()).containsEntry("FEATURE_X", "v4lue-on").containsEntry("KEEP", "kept")
                    .doesNotContainKey("OLD_VAR");
        }
        assertThat(fleet.snapshot().spec()).isNotEqualTo(before);
        assertThat(fleet.snapshot().spec().command()).isEqualTo(V2);
        assertThat(fleet.snapshot().generations()).containsExactly(new Generation(2, true, 2, fleet.snapshot().spec()));
        assertThat(reloads(fleet, "succeeded")).isEqualTo(1);
        assertThat(reloads(fleet, "failed")).isZero();
        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == Type.RELOAD_STARTED).singleElement()
                .satisfies(event -> assertThat(event.message())
                        .endsWith("changed: command, environment: +FEATURE_X -OLD_VAR")
                        .doesNotContain("v4lue"));
    }

    /** Undo is a reload of its own back to the spec the last successful reload replaced; a second undo goes forward. */
    @Test
    void undoReloadsBackToTheSpecTheLastSuccessfulReloadReplacedAndASecondUndoForward() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec v1 = fleet.snapshot().spec();
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>()))).as("no reload yet")
                .failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("No reload that changed the spec has succeeded since the master started");
        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofSeconds(5));
        WorkerSpec v2 = fleet.snapshot().spec();

        ReloadStatus undo = fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())).join();
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(undo.generation()).isEqualTo(3);
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.SUCCEEDED);
        assertThat(fleet.snapshot().spec()).isEqualTo(v1);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactly(5, 6);
        assertThat(commandOf(fleet, 5)).containsExactly("app", "v1", "--port=PORT");
        assertThat(fleet.process(5).spec.environment()).containsEntry("OLD_VAR", "v4lue-old").doesNotContainKey("FEATURE_X");
        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == Type.RELOAD_STARTED).last()
                .satisfies(event -> assertThat(event.message()).isEqualTo("reload to generation 3 started: undo of "
                        + "generation 2, back to generation 1's spec: 2 workers to replace; changed: command, "
                        + "environment: -FEATURE_X +OLD_VAR"));

        fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())).join();
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(fleet.snapshot().spec()).isEqualTo(v2);
        assertThat(commandOf(fleet, 7)).containsExactly("app", "v2", "--port=PORT");

        // A reload of the same spec (a restart) keeps what undo goes back to: v1.
        reload(fleet, WorkerSpecPatch.NONE).join();
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.SUCCEEDED);

        // After a failed reload, rolled back already, undo would go a version further back: refused.
        failAReloadToV3(fleet);
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())))
                .failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("failed and was rolled back: the fleet runs generation 5's spec as before it. "
                        + "Undo would go further back, to generation 3's spec (differs from the running one in: "
                        + "command, environment: -FEATURE_X +OLD_VAR; its command: app v1 --port={port}); to go "
                        + "there, reload with it");
        assertThat(fleet.snapshot().spec()).isEqualTo(v2);
    }

    /** The refusal said "(command: …)", the running command, when only the environment was what undo would change. */
    @Test
    void anUndoRefusedAfterARolledBackReloadSaysWhatItWouldChange() {
        SupervisorHarness fleet = fleetOfTwo();
        reload(fleet, new WorkerSpecPatch(null, Map.of("FEATURE_X", "v4lue-on"), null, null)).join();
        fleet.queue.advance(Duration.ofSeconds(5));
        failAReloadToV3(fleet);

        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())))
                .failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("Undo would go further back, to generation 1's spec (differs from the running "
                        + "one in: environment: -FEATURE_X); to go there, reload with it")
                .withMessageNotContaining("v4lue").withMessageNotContaining("command");
    }

    /**
     * Found by a new user: a reload whose new worker never opened its port held the fleet for startup-timeout (60 s),
     * and undo was refused meanwhile. Undo now stops the running reload, as kubectl rollout undo does mid-rollout.
     */
    @Test
    void undoWhileTheFirstNewWorkerIsStartingStopsItAndTheOldWorkersServeOn() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec v1 = fleet.snapshot().spec();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        assertThat(fleet.worker(3).state()).isEqualTo(WorkerState.STARTING);

        ReloadStatus undone = fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())).join();
        fleet.queue.drain();

        assertThat(undone.state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(undone.reason()).isEqualTo(RollingReload.UNDONE);
        assertThat(undone.rollback()).as("no new worker took over").isEqualTo(ReloadStatus.Rollback.NONE);
        assertThat(fleet.process(3).isAlive()).as("stopped at once, not after startup-timeout").isFalse();
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactly(1, 2);
        assertThat(fleet.states()).containsOnly(WorkerState.READY);
        assertThat(fleet.snapshot().spec()).isEqualTo(v1);
        assertThat(fleet.launcher.launched).as("nothing more started").hasSize(3);
        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == Type.RELOAD_FAILED).singleElement()
                .satisfies(event -> assertThat(event.message()).isEqualTo("reload to generation 2 failed: "
                        + RollingReload.UNDONE));
        assertThat(reloads(fleet, "failed")).isEqualTo(1);
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>()))).as("nothing to go back to")
                .failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class);
    }

    @Test
    void undoAfterANewWorkerTookOverRollsItBackAndARollbackCannotBeUndone() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec v1 = fleet.snapshot().spec();
        reloadToV2WhereOnlyWorker3TookOver(fleet);
        assertThat(fleet.worker(4).state()).isEqualTo(WorkerState.STARTING);

        ReloadStatus undone = fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())).join();

        assertThat(undone.state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(undone.replaced()).isEqualTo(1);
        assertThat(undone.rollback()).isEqualTo(ReloadStatus.Rollback.RUNNING);
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>()))).as("while it rolls back")
                .failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("is being rolled back");
        fleet.readiness.answerAll(true);
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(fleet.process(4).isAlive()).isFalse();
        assertThat(fleet.snapshot().reload().rollback()).isEqualTo(ReloadStatus.Rollback.FINISHED);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::generation).containsOnly(1L).hasSize(2);
        assertThat(fleet.states()).containsOnly(WorkerState.READY);
        assertThat(fleet.snapshot().spec()).isEqualTo(v1);
    }

    /** Undo asked again while the undo runs: one undo, not an undo of the undo back to the version being escaped. */
    @Test
    void undoAskedAgainWhileTheUndoRunsLetsItRunOn() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec v1 = fleet.snapshot().spec();
        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofSeconds(5));
        fleet.readiness.answerAll(false);
        ReloadStatus undo = fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())).join();

        ReloadStatus again = fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())).join();

        assertThat(again.state()).isEqualTo(ReloadStatus.State.RUNNING);
        assertThat(again.generation()).isEqualTo(undo.generation());
        fleet.readiness.answerAll(true);
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.SUCCEEDED);
        assertThat(fleet.snapshot().spec()).isEqualTo(v1);
    }

    /** Each step's new worker is said as it starts, with its pid and the time it has: not only once it took over. */
    @Test
    void eachStepsNewWorkerIsSaidAsItStarts() {
        SupervisorHarness fleet = fleetOfTwo("fleet.worker.startup-timeout", "45s");
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();

        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == Type.RELOAD_STEP).singleElement()
                .satisfies(event -> {
                    assertThat(event.workerId()).isEqualTo(3);
                    assertThat(event.message()).isEqualTo("reload: worker 3 (pid " + fleet.process(3).pid()
                            + ", generation 2) started to replace worker 1; it takes over once READY for 1000 ms "
                            + "(fleet.restart.min-uptime), and must be READY within 45000 ms (fleet.worker.startup-timeout)");
                });
    }

    @Test
    void oldWorkerThatCrashesDuringTheReloadRestartsWithItsOwnGenerationsSpec() {
        SupervisorHarness fleet = fleetOfTwo();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        assertThat(fleet.worker(3).state()).isEqualTo(WorkerState.STARTING);

        fleet.process(2).exit(1);
        fleet.queue.drain();
        fleet.queue.advance(Duration.ofMillis(200));

        assertThat(fleet.launcher.launched).filteredOn(process -> process.workerId == 2).hasSize(2);
        assertThat(commandOf(fleet, 2)).containsExactly("app", "v1", "--port=PORT");
        assertThat(fleet.process(2).spec.environment()).containsEntry("OLD_VAR", "v4lue-old").doesNotContainKey("FEATURE_X");
        assertThat(commandOf(fleet, 3)).containsExactly("app", "v2", "--port=PORT");
        assertThat(fleet.snapshot().generations()).extracting(Generation::generation, Generation::current, Generation::workers)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, true, 2), org.assertj.core.groups.Tuple.tuple(2L, false, 1));
    }

    /** A reload to v2 whose first new worker (3) took over from worker 1, and whose second (4) is still STARTING. */
    private static void reloadToV2WhereOnlyWorker3TookOver(SupervisorHarness fleet) {
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        fleet.queue.post(new SupervisorEvent.ProbePassed(fleet.supervisor.find(3).orElseThrow(), fleet.process(3),
                SupervisorEvent.ProbeKind.READINESS));
        // A reload's new worker takes over once READY for fleet.restart.min-uptime (1 s).
        fleet.queue.advance(Duration.ofSeconds(1));
    }

    @Test
    void failedReloadKeepsTheOldSpecCurrentAndReplacesTheNewWorkersThatTookOverBack() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec old = fleet.snapshot().spec();
        // Worker 3 (generation 2) gets READY and takes over from worker 1; worker 4 then dies before it is READY.
        reloadToV2WhereOnlyWorker3TookOver(fleet);
        assertThat(fleet.worker(4).state()).isEqualTo(WorkerState.STARTING);
        LogBuffer logs = fleet.supervisor.find(4).orElseThrow().logs;
        long pid = fleet.process(4).pid();
        for (int i = 1; i <= 7; i++) {
            logs.add(new LogBuffer.Line(pid, Instant.EPOCH, "line " + i));
        }
        logs.add(new LogBuffer.Line(pid, Instant.EPOCH, "Error: " + "x".repeat(300)));
        fleet.readiness.answerAll(true);
        fleet.process(4).exit(3);
        fleet.queue.drain();
        fleet.queue.advance(Duration.ofSeconds(5));

        ReloadStatus status = fleet.snapshot().reload();
        assertThat(status.state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(status.reason()).startsWith("worker 4 (generation 2) exited with code 3 before it was READY; "
                + "last log lines: \"line 4\", \"line 5\", \"line 6\", \"line 7\", \"Error: xxx");
        assertThat(status.problem().exit()).isEqualTo(3);
        assertThat(status.problem().worker()).isEqualTo(4);
        assertThat(status.problem().status()).isEqualTo(502);
        assertThat(status.problem().lastLines()).hasSize(5).startsWith("line 4").last()
                .satisfies(line -> assertThat(line).hasSize(200).startsWith("Error: x"));
        assertThat(status.problem().errorLine()).as("among the last lines").hasSize(200).startsWith("Error: x");
        assertThat(fleet.snapshot().spec()).isEqualTo(old);
        // The rollback: worker 3 is replaced by worker 5, of generation 1 and its spec.
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactlyInAnyOrder(2, 5);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::generation).containsOnly(1L);
        assertThat(commandOf(fleet, 5)).containsExactly("app", "v1", "--port=PORT");
        assertThat(fleet.states()).containsOnly(WorkerState.READY);
        assertThat(fleet.snapshot().generations()).containsExactly(new Generation(1, true, 2, old));
        assertThat(fleet.command(new SupervisorEvent.Scale(3, new CompletableFuture<>()))).isCompleted();
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(commandOf(fleet, 6)).containsExactly("app", "v1", "--port=PORT");
    }

    /**
     * Node's report of a missing module ends with its stack, code and version: the error itself, before the last five
     * lines, is named in the reason (found by a new user: the reason named neither the module nor the error).
     */
    @Test
    void theReasonNamesTheErrorLineThatCameBeforeTheLastLines() {
        SupervisorHarness fleet = fleetOfTwo();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        LogBuffer logs = fleet.supervisor.find(3).orElseThrow().logs;
        long pid = fleet.process(3).pid();
        for (String line : List.of("node:internal/modules/cjs/loader:1228", "  throw err;", "  ^", "",
                "Error: Cannot find module '/srv/app/app-v3.js'",
                "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
                "    at node:internal/main/run_main_module:28:49 {", "  code: 'MODULE_NOT_FOUND',", "  requireStack: []",
                "}", "", "Node.js v20.20.2")) {
            logs.add(new LogBuffer.Line(pid, Instant.EPOCH, line));
        }
        fleet.process(3).exit(1);
        fleet.queue.drain();

        ReloadStatus status = fleet.snapshot().reload();
        assertThat(status.reason()).isEqualTo("worker 3 (generation 2) exited with code 1 before it was READY; "
                + "error: \"Error: Cannot find module '/srv/app/app-v3.js'\"; last log lines: \"  code: 'MODULE_NOT_FOUND',\", "
                + "\"  requireStack: []\", \"}\", \"\", \"Node.js v20.20.2\"");
        assertThat(status.problem().errorLine()).isEqualTo("Error: Cannot find module '/srv/app/app-v3.js'");
    }

    /**
     * A Python's traceback goes to stderr, and its buffered stdout, read on another thread, is flushed after it: the
     * reason quoted the stdout lines as the last, and a handled error logged to stdout as the error. The error and the
     * last lines come from stderr first now.
     */
    @Test
    void theReasonQuotesTheLastStderrLinesWhereTheErrorIsBeforeStdoutsLaterLines() {
        SupervisorHarness fleet = fleetOfTwo();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        LogBuffer logs = fleet.supervisor.find(3).orElseThrow().logs;
        long pid = fleet.process(3).pid();
        List.of("Traceback (most recent call last):", "  File \"/srv/app.py\", line 3, in <module>",
                "    connect()", "ValueError: no DATABASE_URL").forEach(line ->
                logs.add(new LogBuffer.Line(pid, Instant.EPOCH, line, LogBuffer.Stream.STDERR)));
        List.of("starting app v2", "error: cache unreachable, retrying", "loading routes", "loaded 12 routes",
                "warming up", "flushing buffers").forEach(line ->
                logs.add(new LogBuffer.Line(pid, Instant.EPOCH, line, LogBuffer.Stream.STDOUT)));
        fleet.process(3).exit(1);
        fleet.queue.drain();

        ReloadStatus status = fleet.snapshot().reload();
        assertThat(status.problem().errorLine()).isEqualTo("ValueError: no DATABASE_URL");
        assertThat(status.problem().lastLines()).containsExactly("Traceback (most recent call last):",
                "  File \"/srv/app.py\", line 3, in <module>", "    connect()", "ValueError: no DATABASE_URL");
        assertThat(status.reason()).endsWith("exited with code 1 before it was READY; last log lines: \"Traceback "
                + "(most recent call last):\", \"  File \"/srv/app.py\", line 3, in <module>\", \"    connect()\", "
                + "\"ValueError: no DATABASE_URL\"");
    }

    /**
     * A Java stack of 60 frames and a cause pushed the exception out of the 20 lines an exit keeps: the error line is
     * looked for further back, and a crash's last exit carries it too.
     */
    @Test
    void theErrorLineIsFoundBehindALongStackAndTheCrashCarriesIt() {
        SupervisorHarness fleet = fleetOfTwo();
        fleet.readiness.answerAll(false);
        reload(fleet, toV2()).join();
        LogBuffer logs = fleet.supervisor.find(3).orElseThrow().logs;
        long pid = fleet.process(3).pid();
        List<String> lines = new java.util.ArrayList<>();
        lines.add("Exception in thread \"main\" java.lang.IllegalStateException: no database");
        for (int frame = 0; frame < 60; frame++) {
            lines.add("\tat app.Main.level" + frame + "(Main.java:" + frame + ")");
        }
        lines.add("Caused by: java.net.ConnectException: Connection refused");
        for (int frame = 0; frame < 30; frame++) {
            lines.add("\tat java.base/sun.nio.ch.Net.connect" + frame + "(Net.java:" + frame + ")");
        }
        lines.add("\t... 12 more");
        lines.forEach(line -> logs.add(new LogBuffer.Line(pid, Instant.EPOCH, line)));
        fleet.process(3).exit(1);
        fleet.queue.drain();

        assertThat(fleet.snapshot().reload().problem().errorLine())
                .isEqualTo("Caused by: java.net.ConnectException: Connection refused");
        assertThat(fleet.snapshot().reload().reason()).contains("error: \"Caused by: java.net.ConnectException");

        long crashed = fleet.process(1).pid();
        lines.forEach(line -> fleet.supervisor.find(1).orElseThrow().logs.add(new LogBuffer.Line(crashed, Instant.EPOCH, line)));
        fleet.process(1).exit(1);
        fleet.queue.drain();
        assertThat(fleet.worker(1).lastExit().errorLine()).isEqualTo("Caused by: java.net.ConnectException: Connection refused");
        assertThat(fleet.worker(1).lastExit().lastLines()).hasSize(20).noneMatch(line -> line.startsWith("Caused by"));
    }

    @Test
    void scaleAndReplaceRefusedWhileAReloadRunsSayHowFarItIsAndThatUndoStopsIt() {
        SupervisorHarness fleet = fleetOfTwo();
        reloadToV2WhereOnlyWorker3TookOver(fleet);
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.RUNNING);

        assertThat(fleet.command(new SupervisorEvent.Scale(4, new CompletableFuture<>()))).failsWithin(Duration.ZERO)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageEndingWith("A reload to generation 2 is running (1 of 2 workers replaced); scale once GET "
                        + "/fleet/reload (shepherd status) shows it finished, or stop it and roll it back with POST "
                        + "/fleet/reload/undo (shepherd reload --undo)");
        assertThat(fleet.command(new SupervisorEvent.Replace(2, new CompletableFuture<>()))).failsWithin(Duration.ZERO)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("is running (1 of 2 workers replaced); replace worker 2 once");
        assertThat(fleet.snapshot().desired()).isEqualTo(2);
    }

    @Test
    void reloadAndScaleAreRefusedWhileTheRollbackRunsAndTheFleetEndsOnTheOldSpec() {
        SupervisorHarness fleet = fleetOfTwo();
        WorkerSpec old = fleet.snapshot().spec();
        reloadToV2WhereOnlyWorker3TookOver(fleet);
        fleet.process(4).exit(3);
        fleet.queue.drain();
        // The rollback's worker 5, of generation 1, is starting and not READY yet.
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.snapshot().reload().rollback()).as("shown, so that a client knows when to reload again")
                .isEqualTo(ReloadStatus.Rollback.RUNNING);
        assertThat(fleet.worker(5).state()).isEqualTo(WorkerState.STARTING);
        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == FleetEvent.Type.RELOAD_FAILED)
                .extracting(FleetEvent::message).singleElement().asString()
                .startsWith("reload to generation 2 failed and is rolled back (1 worker to replace): worker 4");

        assertThat(reload(fleet, toV2())).failsWithin(Duration.ZERO).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class).withMessageContaining("is being rolled back")
                .withMessageContaining("Its worker 5 is STARTING: if it never gets READY, POST /fleet/workers/5/kill "
                        + "(shepherd kill 5) stops it and the rollback");
        // Each command held by the rollback says the same way out (scale's and undo's said none, found by a new user).
        assertThat(fleet.command(new SupervisorEvent.Scale(4, new CompletableFuture<>()))).failsWithin(Duration.ZERO)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("is being rolled back; scale once")
                .withMessageContaining("POST /fleet/workers/5/kill (shepherd kill 5) stops it and the rollback");
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>()))).failsWithin(Duration.ZERO)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("is being rolled back; undo once")
                .withMessageContaining("(shepherd kill 5) stops it and the rollback");
        assertThat(fleet.command(new SupervisorEvent.Replace(2, new CompletableFuture<>()))).failsWithin(Duration.ZERO)
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("is being rolled back; replace worker 2 once")
                .withMessageContaining("(shepherd kill 5) stops it and the rollback");

        fleet.readiness.answerAll(true);
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactlyInAnyOrder(2, 5);
        assertThat(fleet.snapshot().generations()).containsExactly(new Generation(1, true, 2, old));
        assertThat(fleet.snapshot().desired()).isEqualTo(2);
        assertThat(fleet.snapshot().reload().rollback()).isEqualTo(ReloadStatus.Rollback.FINISHED);
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == FleetEvent.Type.RELOAD_STEP).last()
                .extracting(FleetEvent::message).isEqualTo("rollback of generation 2 finished: the fleet runs generation 1 again");
    }

    /**
     * A worker of the failed generation that crashed while the rollback ran was restarted on the failed spec before
     * the rollback reached it (found by a chaos helper): it leaves now, and its slot gets the current spec.
     */
    @Test
    void aWorkerOfTheFailedGenerationThatCrashesDuringTheRollbackIsNotRestartedOnItsSpec() {
        SupervisorHarness fleet = fleetOfTwo();
        reloadToV2WhereOnlyWorker3TookOver(fleet);
        fleet.process(4).exit(3);
        fleet.queue.drain();
        assertThat(fleet.snapshot().reload().rollback()).isEqualTo(ReloadStatus.Rollback.RUNNING);
        int launchedBefore = fleet.launcher.launched.size();

        fleet.process(3).exit(1);
        fleet.queue.drain();
        // The rollback's worker takes longer to start than worker 3's backoff.
        fleet.queue.advance(Duration.ofMillis(500));
        fleet.readiness.answerAll(true);
        fleet.queue.advance(Duration.ofSeconds(5));

        assertThat(fleet.launcher.launched.subList(launchedBefore, fleet.launcher.launched.size()))
                .as("nothing more of generation 2").noneMatch(process -> process.spec.command().contains("v2"));
        assertThat(fleet.launcher.launched).filteredOn(process -> process.workerId == 3).hasSize(1);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::generation).containsOnly(1L).hasSize(2);
        assertThat(fleet.states()).containsOnly(WorkerState.READY);
        assertThat(fleet.snapshot().reload().rollback()).isEqualTo(ReloadStatus.Rollback.FINISHED);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::index).containsExactlyInAnyOrder(0, 1);
    }

    @Test
    void rollbackWhoseOldSpecWorkerFailsStopsThereAndTheNewWorkerThatTookOverKeepsServing() {
        SupervisorHarness fleet = fleetOfTwo();
        reloadToV2WhereOnlyWorker3TookOver(fleet);
        fleet.process(4).exit(3);
        fleet.queue.drain();
        assertThat(fleet.worker(5).state()).as("the rollback's worker, of generation 1").isEqualTo(WorkerState.STARTING);

        fleet.process(5).exit(1);
        fleet.queue.drain();

        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.FAILED);
        assertThat(fleet.snapshot().reload().problem().worker()).as("the reload's own failure stays its reason").isEqualTo(4);
        assertThat(fleet.snapshot().reload().rollback()).as("not FINISHED: a worker of generation 2 still serves")
                .isEqualTo(ReloadStatus.Rollback.STOPPED);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactlyInAnyOrder(2, 3);
        assertThat(fleet.worker(3).state()).isEqualTo(WorkerState.READY);
        assertThat(fleet.snapshot().generations()).extracting(Generation::generation).containsExactly(1L, 2L);
        assertThat(fleet.events.recent()).anySatisfy(event -> assertThat(event.message())
                .startsWith("rollback of generation 2 stopped: worker 5 (generation 1) exited with code 1 before it was READY"));
        assertThat(fleet.command(new SupervisorEvent.Undo(new CompletableFuture<>())))
                .failsWithin(Duration.ofSeconds(1)).withThrowableThat()
                .withCauseInstanceOf(FleetExceptions.FleetConflictException.class)
                .withMessageContaining("failed, and its rollback stopped part way: the workers of generation 2 that "
                        + "took over keep serving beside generation 1's");
        // A plain reload replaces generation 2's worker too: "changed: nothing" did not say so (a new user's).
        assertThat(reload(fleet, WorkerSpecPatch.NONE)).as("the operator can reload again").isCompleted();
        assertThat(fleet.events.recent()).filteredOn(event -> event.type() == Type.RELOAD_STARTED).last()
                .satisfies(event -> assertThat(event.message()).endsWith("2 workers to replace; changed: nothing; and "
                        + "for 1 worker of generation 2, which ran another spec: command, environment: -FEATURE_X +OLD_VAR"));
    }

    @Test
    void startupTimeoutOfTheNewSpecFailsTheReloadSayingSo() {
        SupervisorHarness fleet = fleetOfTwo("fleet.worker.startup-timeout", "1s");
        fleet.readiness.answerAll(false);

        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofSeconds(2));

        assertThat(fleet.snapshot().reload().reason())
                .isEqualTo("worker 3 (generation 2) was not READY within 1000 ms (last readiness probe: GET /health "
                        + "answered 503) and was killed; it wrote no output");
        assertThat(fleet.snapshot().reload().problem().exit()).isEqualTo(137);
        assertThat(fleet.snapshot().spec().command()).isEqualTo(V1);
        assertThat(fleet.snapshot().workers()).extracting(WorkerSnapshot::id).containsExactly(1, 2);
        assertThat(reloads(fleet, "failed")).isEqualTo(1);
        assertThat(reloads(fleet, "succeeded")).isZero();
    }

    /** {@code shepherd_reloads_total{outcome}}, for an alert on failed deploys (a new user found no reload metric). */
    private static double reloads(SupervisorHarness fleet, String outcome) {
        return fleet.registry.get("shepherd.reloads").tag("outcome", outcome).counter().count();
    }

    @Test
    void scaleAndReplaceAfterASuccessfulReloadStartTheNewSpec() {
        SupervisorHarness fleet = fleetOfTwo();
        reload(fleet, toV2()).join();
        fleet.queue.advance(Duration.ofSeconds(5));

        fleet.command(new SupervisorEvent.Scale(3, new CompletableFuture<>())).join();
        fleet.queue.advance(Duration.ofMillis(100));
        int replacement = fleet.command(new SupervisorEvent.Replace(3, new CompletableFuture<>())).join();
        fleet.queue.advance(Duration.ofMillis(100));

        assertThat(commandOf(fleet, 5)).containsExactly("app", "v2", "--port=PORT");
        assertThat(commandOf(fleet, replacement)).containsExactly("app", "v2", "--port=PORT");
        assertThat(fleet.worker(replacement).generation()).isEqualTo(2);
        assertThat(fleet.process(5).spec.environment()).containsEntry("FEATURE_X", "v4lue-on");
    }

    @Test
    void readinessIsProbedOnTheGenerationsPath() {
        SupervisorHarness fleet = fleetOfTwo();
        assertThat(fleet.readiness.lastPath).isEqualTo("/health");

        reload(fleet, new WorkerSpecPatch(null, null, null, "/ready")).join();

        assertThat(fleet.readiness.lastPath).isEqualTo("/ready");
        fleet.queue.advance(Duration.ofSeconds(5));
        assertThat(fleet.snapshot().spec().readinessPath()).isEqualTo("/ready");
        assertThat(fleet.snapshot().spec().command()).isEqualTo(V1);
    }

    @Test
    void invalidPatchIsRefusedBeforeAnythingStarts() {
        SupervisorHarness fleet = fleetOfTwo();
        int launched = fleet.launcher.launched.size();

        CompletableFuture<ReloadStatus> reply = reload(fleet, new WorkerSpecPatch(List.of("app", "{foo}"), null, null, null));

        assertThat(reply).failsWithin(Duration.ZERO).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(FleetExceptions.InvalidSpecException.class).withMessage("command[1] has the unknown placeholder {foo}; the known ones are {port}, {id} and {index}");
        assertThat(fleet.launcher.launched).hasSize(launched);
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.IDLE);
    }

    @Test
    void aReloadThatSetsPortIsRefusedBeforeAnythingStarts() {
        SupervisorHarness fleet = fleetOfTwo();
        int launched = fleet.launcher.launched.size();

        CompletableFuture<ReloadStatus> reply = reload(fleet, new WorkerSpecPatch(null, Map.of("PORT", "9000"), null, null));

        assertThat(reply).failsWithin(Duration.ZERO).withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(FleetExceptions.InvalidSpecException.class)
                .withMessageStartingWith("environment sets PORT, which Shepherd sets for each worker");
        assertThat(fleet.launcher.launched).hasSize(launched);
        assertThat(fleet.snapshot().reload().state()).isEqualTo(ReloadStatus.State.IDLE);
    }
}
