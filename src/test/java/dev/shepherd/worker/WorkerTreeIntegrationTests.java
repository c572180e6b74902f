package dev.shepherd.worker;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/** A worker that forks (a shell wrapper around node) is stopped, killed and orphaned as one tree. */
class WorkerTreeIntegrationTests {

    private static final String WRAPPED_NODE = "--fleet.worker.command=/bin/sh,-c,node examples/node/server.js & wait";

    @Test
    void stoppingAWorkerEndsItsWholeTree() {
        assumeNode();
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", WRAPPED_NODE)) {
            long wrapper = shepherd.snapshot().workers().get(1).pid();
            List<ProcessHandle> tree = ProcessHandle.of(wrapper).orElseThrow().descendants().toList();
            assertThat(tree).as("node under the shell wrapper").isNotEmpty();
            assertThat(shepherd.get("/").body()).startsWith("Hello from node");

            assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 1}").statusCode()).isEqualTo(202);

            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(ProcessHandle.of(wrapper).map(WorkerTreeIntegrationTests::running).orElse(false)).isFalse();
                assertThat(tree).noneMatch(WorkerTreeIntegrationTests::running);
            });
        }
    }

    @Test
    void killDashNineOfTheMasterAlsoEndsTheWorkersChildren() throws Exception {
        assumeNode();
        try (MasterProcess master = MasterProcess.startReady(2, WRAPPED_NODE)) {
            List<ProcessHandle> everything = master.startedProcesses();
            assertThat(everything.stream().map(handle -> handle.info().command().orElse("")))
                    .anyMatch(cmd -> cmd.endsWith("node"));

            master.killDashNine();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(everything.stream()
                    .filter(WorkerTreeIntegrationTests::running).map(handle -> handle.pid() + " " + handle.info().commandLine().orElse("?")))
                    .as("processes left by the master").isEmpty());
        }
    }

    /** Running: a killed orphan stays a zombie until PID 1 reaps it, maybe after the test's wait. */
    private static boolean running(ProcessHandle handle) {
        return handle.isAlive() && !ProcFs.exitedNotReaped(handle.pid());
    }

    private static void assumeNode() {
        boolean node;
        try {
            node = new ProcessBuilder("node", "--version").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0;
        } catch (IOException ex) {
            node = false;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            node = false;
        }
        assumeThat(node).as("node is not installed (apt-get install nodejs); skipping the process-tree tests").isTrue();
    }
}
