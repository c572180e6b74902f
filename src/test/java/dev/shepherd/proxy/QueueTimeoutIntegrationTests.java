package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The queue timeout's clock runs while a request waits for a READY worker and stops when one gets READY: a worker
 * ({@link FaultyWorker}) that fails its readiness probe until the test creates a file.
 */
class QueueTimeoutIntegrationTests {

    @TempDir
    Path dir;

    @Test
    void requestThatFindsNoReadyWorkerGets503AtTheQueueTimeout() {
        try (RunningShepherd shepherd = start(dir.resolve("never"), "1s")) {
            long start = System.nanoTime();
            RawClient.Received received = get(shepherd);
            long tookMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(RawHttp.status(received.bytes())).isEqualTo(503);
            assertThat(received.body()).contains("no worker became READY within 1000 ms");
            assertThat(tookMillis).isBetween(1000L, 3000L);
        }
    }

    @Test
    void requestWaitingForAWorkerThatGetsReadyWithinTheQueueTimeoutIsServedWhenItDoes() throws IOException {
        Path ready = dir.resolve("ready");
        try (RunningShepherd shepherd = start(ready, "60s")) {
            long start = System.nanoTime();
            CompletableFuture<RawClient.Received> waiting = CompletableFuture.supplyAsync(() -> get(shepherd));
            await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> !waiting.isDone());
            Files.createFile(ready);
            RawClient.Received received = waiting.orTimeout(70, TimeUnit.SECONDS).join();
            long tookMillis = (System.nanoTime() - start) / 1_000_000;

            assertThat(RawHttp.status(received.bytes())).isEqualTo(200);
            assertThat(tookMillis).as("held until the worker got READY, well before the timeout").isBetween(1000L, 50_000L);
        }
    }

    private static RunningShepherd start(Path readyFile, String queueTimeout) {
        return RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.worker.environment.READY_FILE=" + readyFile, "--fleet.proxy.queue-timeout=" + queueTimeout);
    }

    private static RawClient.Received get(RunningShepherd shepherd) {
        return RawClient.exchange(shepherd.proxyPort(), "GET /queued HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 70_000);
    }
}
