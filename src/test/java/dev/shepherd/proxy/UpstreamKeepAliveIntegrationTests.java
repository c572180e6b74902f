package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * The keep-alive race behind every load balancer in front of Node: a worker closes an idle connection just as the
 * proxy sends a request on it, and a POST, which is not retried, gets 502. With a real Node worker whose
 * {@code keepAliveTimeout} is short, the proxy retires idle connections before the worker would: from the
 * {@code Keep-Alive: timeout=N} hint, and after {@code fleet.proxy.upstream-idle-timeout} otherwise.
 */
class UpstreamKeepAliveIntegrationTests {

    private static String script;

    @BeforeAll
    static void findNode() throws URISyntaxException {
        assumeThat(runs("node", "--version")).as("node is not installed (apt-get install nodejs)").isTrue();
        script = Path.of(UpstreamKeepAliveIntegrationTests.class.getResource("keep-alive-worker.js").toURI()).toString();
    }

    /**
     * The worker resets a request on a connection idle for more than a second (LATE_MS, see keep-alive-worker.js):
     * the close-crosses-request race, made certain. Either it announces a second (Node keeps idle connections 1.9 s
     * and says {@code Keep-Alive: timeout=1}; the property's 4 s would be too long), or it says nothing and the
     * property is set below a second. Each POST goes 0.3 to 1.7 s after the last one, on both sides of the worker's
     * second.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"Keep-Alive: timeout=1, 1900, 4s", "no Keep-Alive header, 0, 900ms"})
    void postsSentAfterTheWorkersIdleWindowAreNeverRefused(String announced, int keepAliveMillis, String idleTimeout) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.worker.command=node," + script,
                "--fleet.worker.environment.KEEP_ALIVE_MS=" + keepAliveMillis, "--fleet.worker.environment.LATE_MS=1000",
                "--fleet.proxy.upstream-idle-timeout=" + idleTimeout)) {
            HttpClient client = HttpClient.newHttpClient();
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            CompletableFuture<Void> chain = post(client, shepherd.proxy("/upload"), statuses);
            for (int step = 0; step < 8; step++) {
                long delayMillis = 300 + step * 200;
                chain = chain.thenCompose(done -> CompletableFuture.runAsync(() -> { },
                                CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS)))
                        .thenCompose(done -> post(client, shepherd.proxy("/upload"), statuses));
            }
            chain.orTimeout(60, TimeUnit.SECONDS).join();

            Map<Integer, Integer> counts = new TreeMap<>();
            statuses.forEach((status, count) -> counts.put(status, count.get()));
            assertThat(counts).as("statuses of 9 POSTs").isEqualTo(Map.of(200, 9));
        }
    }

    @Test
    void idleConnectionsAreClosedAfterTheUpstreamIdleTimeoutEvenIfTheWorkerWouldKeepThem() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.worker.command=node," + script,
                "--fleet.worker.environment.KEEP_ALIVE_MS=60000", "--fleet.proxy.upstream-idle-timeout=1s")) {
            HttpClient client = HttpClient.newHttpClient();
            URI connections = URI.create("http://127.0.0.1:" + shepherd.snapshot().workers().get(0).port() + "/connections");
            // This client's own connection, and whatever else the worker has open (a probe's kept-alive one).
            int others = openConnections(client, connections);
            Map<Integer, AtomicInteger> statuses = new ConcurrentHashMap<>();
            List<CompletableFuture<Void>> posts = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                posts.add(post(client, shepherd.proxy("/upload"), statuses));
            }
            CompletableFuture.allOf(posts.toArray(CompletableFuture[]::new)).orTimeout(10, TimeUnit.SECONDS).join();
            long idleSince = System.nanoTime();

            assertThat(openConnections(client, connections)).as("with the proxy's idle connections").isGreaterThan(others);
            await().atMost(Duration.ofSeconds(5)).until(() -> openConnections(client, connections) <= others);
            assertThat(Duration.ofNanos(System.nanoTime() - idleSince)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
        }
    }

    private static CompletableFuture<Void> post(HttpClient client, URI uri, Map<Integer, AtomicInteger> statuses) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.ofString("payload")).build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.ofString()).thenAccept(response ->
                statuses.computeIfAbsent(response.statusCode(), key -> new AtomicInteger()).incrementAndGet());
    }

    private static int openConnections(HttpClient client, URI uri) throws IOException, InterruptedException {
        return Integer.parseInt(client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body());
    }

    private static boolean runs(String... command) {
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
