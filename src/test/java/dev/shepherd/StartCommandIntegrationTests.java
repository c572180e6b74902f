package dev.shepherd;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.FreePorts;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code java -jar shepherd.jar start -i 2 ... PROGRAM ARG...} against real processes: the master runs with the
 * worker's command as typed (an argument with a comma stays one argument), its workers and ports, tells the admin
 * API's URL once it runs, and stops on SIGTERM with its workers.
 */
class StartCommandIntegrationTests {

    @Test
    void theMasterRunsTheCommandAsTypedAndStopsWithItsWorkers() throws Exception {
        int proxyPort = FreePorts.unassigned();
        int adminPort = FreePorts.unassigned();
        List<String> command = new ArrayList<>(RunningShepherd.javaCommand(ShepherdApplication.class, "-Xmx256m"));
        command.addAll(List.of("start", "-i", "2", "-p", Integer.toString(proxyPort), "--admin-port",
                Integer.toString(adminPort), "-e", "GREETING=hello,world"));
        command.addAll(RunningShepherd.javaCommand(EchoWorker.class));
        command.addAll(List.of("--tags=a,b", "${server.port}"));
        File log = File.createTempFile("start", ".log");
        Process master = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log).start();
        Set<ProcessHandle> started = new HashSet<>();
        try {
            HttpClient http = HttpClient.newHttpClient();
            // A master JVM and two worker JVMs beside two other test forks: 120 s, as MasterProcess gives them.
            await().atMost(Duration.ofSeconds(120)).ignoreExceptions()
                    .failFast(() -> {
                        if (!master.isAlive()) {
                            throw new AssertionError("the master exited: " + Files.readString(log.toPath()));
                        }
                    })
                    .until(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/fleet"))
                            .build(), HttpResponse.BodyHandlers.ofString()).body()
                            .split("\"state\":\"READY\"", -1).length - 1 == 2);
            started.addAll(master.descendants().toList());

            String whoami = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort + "/whoami"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            String env = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxyPort
                    + "/env?names=GREETING")).build(), HttpResponse.BodyHandlers.ofString()).body();

            assertThat(whoami).as("each word as typed, ${...} too").contains("args=--tags=a,b ${server.port}\n");
            assertThat(env).contains("GREETING=hello,world\n", "SHEPHERD_WORKER_COUNT=2\n");
            // Once the master runs, not before start's arguments are checked (a new user's).
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(log.toPath()).contains(
                    "The admin API is on port " + adminPort + "; the command line finds it with SHEPHERD_ADMIN_URL="
                            + "127.0.0.1:" + adminPort));

            master.toHandle().destroy();
            assertThat(master.waitFor(60, TimeUnit.SECONDS)).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> started.stream().noneMatch(ProcessHandle::isAlive));
        } finally {
            master.descendants().forEach(ProcessHandle::destroyForcibly);
            started.forEach(ProcessHandle::destroyForcibly);
            master.destroyForcibly();
            Files.deleteIfExists(log.toPath());
        }
    }
}
