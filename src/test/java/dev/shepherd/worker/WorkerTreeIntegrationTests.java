package dev.shepherd.worker;

import dev.shepherd.ShepherdApplication;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
                assertThat(ProcessHandle.of(wrapper).map(ProcessHandle::isAlive).orElse(false)).isFalse();
                assertThat(tree).noneMatch(ProcessHandle::isAlive);
            });
        }
    }

    @Test
    void killDashNineOfTheMasterAlsoEndsTheWorkersChildren() throws Exception {
        assumeNode();
        int adminPort = freePort();
        List<String> command = new ArrayList<>(RunningShepherd.javaCommand(ShepherdApplication.class, "-Xmx256m"));
        command.addAll(List.of("--server.port=0", "--management.server.port=" + adminPort, "--fleet.workers=2", WRAPPED_NODE));
        Process master = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(File.createTempFile("master", ".log")).start();
        List<ProcessHandle> everything = new ArrayList<>();
        try {
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest fleet = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/fleet")).build();
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
                Matcher ready = Pattern.compile("\"state\":\"READY\"").matcher(http.send(fleet, HttpResponse.BodyHandlers.ofString()).body());
                return ready.results().count() == 2;
            });
            everything.addAll(master.toHandle().descendants().toList());
            assertThat(everything.stream().map(handle -> handle.info().command().orElse("")))
                    .anyMatch(cmd -> cmd.endsWith("node"));

            master.destroyForcibly().waitFor();

            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(everything.stream()
                    .filter(ProcessHandle::isAlive).map(handle -> handle.pid() + " " + handle.info().commandLine().orElse("?")))
                    .as("processes left by the master").isEmpty());
        } finally {
            master.destroyForcibly();
            everything.forEach(ProcessHandle::destroyForcibly);
        }
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

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
