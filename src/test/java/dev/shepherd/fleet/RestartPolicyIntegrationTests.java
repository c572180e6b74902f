package dev.shepherd.fleet;

import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Restart policies and backoff with workers that exit at once, and a worker that ignores TERM. */
class RestartPolicyIntegrationTests {

    private static final String EXITS_AT_ONCE = "--fleet.worker.command=/bin/sh,-c,exit 0";

    @Test
    void workerExitingZeroAtOnceUnderOnFailureStaysDown() {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1", EXITS_AT_ONCE,
                "--fleet.restart.policy=on-failure", "--fleet.proxy.queue-timeout=50ms")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> !shepherd.snapshot().workers().isEmpty()
                    && shepherd.snapshot().workers().get(0).state() == WorkerState.EXITED);
            WorkerSnapshot worker = shepherd.snapshot().workers().get(0);
            assertThat(worker.restarts()).isZero();
            assertThat(worker.lastExit().code()).isZero();
            assertThat(shepherd.get("/").statusCode()).isEqualTo(503);
        }
    }

    @Test
    void workerExitingAtOnceUnderAlwaysBacksOffAndIsMarkedCrashLooping() {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1", EXITS_AT_ONCE,
                "--fleet.restart.initial-backoff=20ms", "--fleet.restart.max-backoff=2s",
                "--fleet.restart.crash-loop-restarts=4", "--fleet.restart.crash-loop-window=1m")) {
            await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().get(0).state() == WorkerState.FAILED);
            // The supervisor moves the worker to FAILED before it records why: the events may come a moment later.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.RESTARTING)
                        .extracting(FleetEvent::message)
                        .containsSubsequence("worker 1 restarts in 20 ms", "worker 1 restarts in 40 ms", "worker 1 restarts in 80 ms",
                                "worker 1 restarts in 160 ms", "worker 1 restarts in 2000 ms");
                assertThat(shepherd.fleet().events().recent()).anyMatch(event -> event.type() == FleetEvent.Type.CRASH_LOOP);
            });
            // 0 for the moment each try after max-backoff starts.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(shepherd.admin("GET", "/actuator/health", null).body()).contains("\"crashLooping\":1"));
        }
    }

    @Test
    void workerIgnoringTermIsKilledAfterTheKillTimeout() {
        // Indexed, since the program itself contains commas.
        String ignoresTerm = "--fleet.worker.command[2]=import signal, os, http.server;"
                + "signal.signal(signal.SIGTERM, signal.SIG_IGN);"
                + "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()";
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.worker.command[0]=python3",
                "--fleet.worker.command[1]=-c", ignoresTerm,
                "--fleet.readiness.path=/", "--fleet.liveness.path=", "--fleet.worker.kill-timeout=1s")) {
            long stubborn = shepherd.snapshot().workers().get(1).pid();

            shepherd.fleet().scale(1);

            await().atMost(Duration.ofSeconds(15)).until(() -> shepherd.snapshot().workers().size() == 1);
            assertThat(shepherd.fleet().events().recent()).anyMatch(event -> event.type() == FleetEvent.Type.KILL_TIMEOUT
                    && event.pid() == stubborn);
            // The exit is recorded once the KILLed process is reaped, which may come after the snapshot lost it.
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(shepherd.fleet().events().recent())
                    .anyMatch(event -> event.type() == FleetEvent.Type.PROCESS_EXITED
                            && event.message().contains("code 137 (signal KILL)")));
        }
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void structuredLogsCarryTheWorkerIdAndPid(CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", "--logging.structured.format.console=ecs")) {
            long pid = shepherd.readyPids().get(0);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(output.getOut())
                    .contains("\"workerPid\":\"" + pid + "\"", "\"workerId\":\"1\"", "Server started in process " + pid));
        } finally {
            // Boot keeps the format in a system property: later masters in this JVM would log JSON too.
            System.clearProperty("CONSOLE_LOG_STRUCTURED_FORMAT");
        }
    }
}
