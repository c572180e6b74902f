package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every worker dies while the queue is full ({@code fleet.worker.max-concurrency} 1, {@code queue-limit} 2): the
 * requests that were in flight on them and the queued ones, four that must all wait for the replacements at once,
 * are all served. A request whose attempt failed on a worker is not turned away by the queue limit, which it had
 * passed or never needed: only new requests count against it.
 */
class QueueDeathIntegrationTests {

    @Test
    void requestsInFlightAndQueuedWhenEveryWorkerDiesAreAllServed() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2",
                RunningShepherd.echoWorkerCommand(), "--fleet.worker.max-concurrency=1",
                "--fleet.proxy.queue-limit=2", "--fleet.proxy.queue-timeout=90s")) {
            List<Long> pids = shepherd.readyPids();
            ProxyServer proxy = shepherd.context().getBean(ProxyServer.class);
            List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
            responses.add(get(shepherd, "/slow?ms=5000"));
            responses.add(get(shepherd, "/slow?ms=5000"));
            await().atMost(Duration.ofSeconds(10)).until(() -> shepherd.snapshot().inFlight() == 2);
            responses.add(get(shepherd, "/hello?q=1"));
            responses.add(get(shepherd, "/hello?q=2"));
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.waiting() == 2);

            pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));

            for (CompletableFuture<HttpResponse<String>> response : responses) {
                HttpResponse<String> answer = response.join();
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            }
            assertThat(shepherd.readyPids()).doesNotContainAnyElementsOf(pids);
        }
    }

    private static CompletableFuture<HttpResponse<String>> get(RunningShepherd shepherd, String path) {
        return shepherd.http().sendAsync(HttpRequest.newBuilder(shepherd.proxy(path)).timeout(Duration.ofSeconds(120))
                .build(), HttpResponse.BodyHandlers.ofString());
    }
}
