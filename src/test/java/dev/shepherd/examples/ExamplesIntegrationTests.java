package dev.shepherd.examples;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;

import example.greeting.GreetingApplication;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/** The examples in examples/ run as documented, and their workers are healed like demo workers. */
class ExamplesIntegrationTests {

    @Test
    void nodeExampleServesThroughShepherdAndAKilledNodeWorkerIsHealed() {
        assumeThat(runs("node", "--version")).as("node is not installed (apt-get install nodejs); skipping the Node example").isTrue();
        servesAndHeals("examples/node/application.yml", "Hello from node, pid ");
    }

    @Test
    void pythonExampleServesThroughShepherdAndAKilledPythonWorkerIsHealed() {
        assumeThat(runs("python3", "--version")).as("python3 is not installed (apt-get install python3); skipping the Python example").isTrue();
        servesAndHeals("examples/python/application.yml", "Hello from python, pid ");
    }

    @Test
    void springBootServiceServesThroughShepherdWithReadinessOnItsActuator() {
        // examples/spring-boot/application.yml, with a Spring Boot service from the test classpath as the jar; C1 only
        // like every JVM javaCommand starts, which starts it on about half the CPU (three cold Spring starts here).
        String command = String.join(",", RunningShepherd.javaCommand(GreetingApplication.class, "-Xmx128m"))
                + ",--server.port={port},--server.address=127.0.0.1,--management.endpoint.health.probes.enabled=true"
                + ",--spring.main.banner-mode=off,--logging.level.root=WARN,--spring.config.name=greeting";
        servesAndHeals("examples/spring-boot/application.yml", "Hello from Spring Boot, pid ", "--fleet.worker.command=" + command);
    }

    @Test
    void socketIoChatExampleServesWebSocketClientsOnEveryWorker() {
        dev.shepherd.testsupport.NodeModules.assumeInstalled();
        try (RunningShepherd shepherd = RunningShepherd.startReady(
                "--spring.config.additional-location=examples/socketio-chat/application.yml",
                // What `npm install --prefix examples/socketio-chat` gives a user, from the test fixtures' install.
                "--fleet.worker.environment.NODE_PATH=" + dev.shepherd.testsupport.NodeModules.MODULES);
             dev.shepherd.testsupport.NodeProcess clients = dev.shepherd.testsupport.NodeProcess.start("socketio-client.js",
                     java.util.Map.of(), "http://127.0.0.1:" + shepherd.proxyPort())) {
            assertThat(clients.command("open 4", Duration.ofSeconds(30)).number("ok")).isEqualTo(4);
            assertThat(clients.events("hello").stream().map(hello -> hello.number("pid")).distinct().count())
                    .as("clients on both workers").isEqualTo(2);
            assertThat(clients.command("chat 1 hello", Duration.ofSeconds(30)).number("ok")).isEqualTo(1);
            assertThat(shepherd.get("/").body()).contains("socket.io.js");
        }
    }

    @Test
    void sseExampleStreamsEventsThroughShepherdAsTheyAreSent() throws Exception {
        assumeThat(runs("node", "--version")).as("node is not installed (apt-get install nodejs); skipping the SSE example").isTrue();
        try (RunningShepherd shepherd = RunningShepherd.startReady("--spring.config.additional-location=examples/sse/application.yml",
                "--fleet.worker.environment.INTERVAL_MS=200")) {
            java.net.http.HttpResponse<java.util.stream.Stream<String>> response = shepherd.http().send(
                    java.net.http.HttpRequest.newBuilder(shepherd.proxy("/events")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofLines());
            assertThat(response.headers().firstValue("content-type")).hasValue("text/event-stream");
            long start = System.nanoTime();
            try (java.util.stream.Stream<String> lines = response.body()) {
                // Three events, 200 ms apart, each as it is sent: a proxy that held the stream back would give none.
                assertThat(lines.filter(line -> line.startsWith("data: ")).limit(3).toList())
                        .allSatisfy(line -> assertThat(line).contains(" from pid "));
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
    }

    private static void servesAndHeals(String config, String greeting, String... extra) {
        List<String> args = new ArrayList<>(List.of("--spring.config.additional-location=" + config));
        args.addAll(List.of(extra));
        try (RunningShepherd shepherd = RunningShepherd.startReady(args.toArray(String[]::new))) {
            assertThat(shepherd.snapshot().desired()).isEqualTo(2);
            Set<String> bodies = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                String body = shepherd.get("/").body();
                assertThat(body).startsWith(greeting);
                bodies.add(body);
            }
            assertThat(bodies).hasSize(2);

            WorkerSnapshot victim = shepherd.snapshot().workers().get(0);
            ProcessHandle.of(victim.pid()).orElseThrow().destroyForcibly();

            await().atMost(Duration.ofSeconds(120)).untilAsserted(() -> {
                WorkerSnapshot healed = shepherd.snapshot().workers().stream().filter(w -> w.id() == victim.id())
                        .findFirst().orElseThrow();
                assertThat(healed.state()).isEqualTo(WorkerState.READY);
                assertThat(healed.pid()).isNotEqualTo(victim.pid());
                assertThat(healed.lastExit().signal()).isEqualTo("KILL");
            });
            for (int i = 0; i < 4; i++) {
                assertThat(shepherd.get("/").body()).startsWith(greeting);
            }
        }
    }

    static boolean runs(String... command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0;
        } catch (IOException ex) {
            return false;
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
