package dev.shepherd.fleet;

import java.util.concurrent.CompletableFuture;

/** One kind of health check of a worker on its port: {@link Probe} over HTTP or TCP, a fake in unit tests. */
interface HealthProbe {

    /**
     * Starts a check of {@code path} (empty: a TCP connect); completes with its result, never exceptionally, on a thread
     * that is not the supervisor's.
     */
    CompletableFuture<Probe.Result> check(int port, String path);
}
