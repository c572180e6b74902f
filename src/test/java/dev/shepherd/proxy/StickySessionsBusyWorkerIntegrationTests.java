package dev.shepherd.proxy;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A sticky client whose worker is only busy (at {@code fleet.worker.max-concurrency}) waits for that worker, which
 * holds the session's state, as HAProxy queues a persistent request on its own server; meanwhile requests without
 * a session go to the free worker. The wait has the queue's timeout. Only a worker that can no longer take requests
 * gives its sessions away; one that dies under a sticky request has it retried elsewhere.
 */
class StickySessionsBusyWorkerIntegrationTests {

    @Test
    void aStickyCookieClientWaitsForItsBusyWorker() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.sticky.cookie=SRV")) {
            HttpResponse<String> first = get(shepherd, "/hello", null);
            String line = first.headers().firstValue("set-cookie").orElseThrow();
            String cookie = line.substring(0, line.indexOf(';'));
            long home = pid(first);

            CompletableFuture<HttpResponse<String>> slow = occupy(shepherd, home, cookie);
            CompletableFuture<HttpResponse<String>> waiting = getAsync(shepherd, "/hello", cookie);
            await().atMost(Duration.ofSeconds(5)).until(() -> shepherd.context().getBean(ProxyServer.class).waiting() == 1);
            assertThat(pid(get(shepherd, "/hello", null))).as("a client without a session gets the free worker")
                    .isNotEqualTo(home);
            assertThat(waiting).as("still waiting for its own worker").isNotDone();

            assertThat(slow.join().statusCode()).isEqualTo(200);
            HttpResponse<String> served = waiting.join();
            assertThat(served.statusCode()).isEqualTo(200);
            assertThat(pid(served)).as("served by the worker that holds its session").isEqualTo(home);
            assertThat(served.headers().allValues("set-cookie")).as("the session is not moved").isEmpty();
        }
    }

    @Test
    void anApplicationSessionWaitsForItsBusyWorker() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.sticky.app-cookie=JSESSIONID")) {
            HttpResponse<String> login = get(shepherd, "/login", null);
            String line = login.headers().firstValue("set-cookie").orElseThrow();
            String cookie = line.substring(0, line.indexOf(';'));
            long home = pid(login);

            CompletableFuture<HttpResponse<String>> slow = occupy(shepherd, home, cookie);
            CompletableFuture<HttpResponse<String>> waiting = getAsync(shepherd, "/hello", cookie);

            assertThat(slow.join().statusCode()).isEqualTo(200);
            assertThat(pid(waiting.join())).as("served by the worker that holds its session").isEqualTo(home);
        }
    }

    @Test
    void aStickyRequestWhoseWorkerStaysBusyPastTheQueueTimeoutGets503() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.sticky.cookie=SRV",
                "--fleet.proxy.queue-timeout=300ms")) {
            HttpResponse<String> first = get(shepherd, "/hello", null);
            String line = first.headers().firstValue("set-cookie").orElseThrow();
            String cookie = line.substring(0, line.indexOf(';'));
            long home = pid(first);

            CompletableFuture<HttpResponse<String>> slow = occupy(shepherd, home, cookie);
            HttpResponse<String> refused = getAsync(shepherd, "/hello", cookie).join();

            assertThat(refused.statusCode()).isEqualTo(503);
            assertThat(refused.headers().firstValue("retry-after")).isPresent();
            assertThat(refused.body()).contains("sticky session").contains("fleet.worker.max-concurrency");
            assertThat(slow.join().statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aStickyRequestWhoseWorkerDiesBeforeAnsweringIsServedElsewhere() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.sticky.cookie=SRV")) {
            HttpResponse<String> first = get(shepherd, "/hello", null);
            String line = first.headers().firstValue("set-cookie").orElseThrow();
            String cookie = line.substring(0, line.indexOf(';'));
            long home = pid(first);

            CompletableFuture<HttpResponse<String>> slow = occupy(shepherd, home, cookie);
            ProcessHandle.of(home).ifPresent(ProcessHandle::destroyForcibly);
            HttpResponse<String> retried = slow.join();
            assertThat(retried.statusCode()).isEqualTo(200);
            assertThat(pid(retried)).isNotEqualTo(home);
        }
    }

    /** A slow sticky request on {@code home}, in flight once this returns. */
    private static CompletableFuture<HttpResponse<String>> occupy(RunningShepherd shepherd, long home, String cookie) {
        CompletableFuture<HttpResponse<String>> slow = shepherd.http().sendAsync(HttpRequest.newBuilder(
                shepherd.proxy("/slow?ms=4000")).header("Cookie", cookie).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().workers().stream()
                .filter(worker -> worker.pid() == home).map(WorkerSnapshot::endpoint)
                .anyMatch(endpoint -> endpoint != null && endpoint.inFlight() == 1));
        return slow;
    }

    private static CompletableFuture<HttpResponse<String>> getAsync(RunningShepherd shepherd, String path,
                                                                   String cookie) {
        return shepherd.http().sendAsync(HttpRequest.newBuilder(shepherd.proxy(path)).header("Cookie", cookie)
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(RunningShepherd shepherd, String path, String cookie) {
        HttpRequest.Builder request = HttpRequest.newBuilder(shepherd.proxy(path)).timeout(Duration.ofSeconds(20));
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        HttpResponse<String> response = shepherd.send(request.build());
        assertThat(response.statusCode()).isEqualTo(200);
        return response;
    }

    private static long pid(HttpResponse<String> response) {
        String body = response.body();
        return Long.parseLong(body.substring("pid=".length(), body.indexOf('\n')));
    }
}
