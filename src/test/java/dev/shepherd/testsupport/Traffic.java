package dev.shepherd.testsupport;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A steady stream of GETs through the proxy from a few client threads, bounded in count and time, that records
 * every outcome: the "ab" of the integration tests.
 */
public final class Traffic implements AutoCloseable {

    private static final int MAX_REQUESTS = 50_000;
    private static final Duration MAX_TIME = Duration.ofSeconds(60);

    private final ExecutorService clients;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicInteger ok = new AtomicInteger();
    private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    private final List<String> failureSamples = new CopyOnWriteArrayList<>();

    private Traffic(RunningShepherd shepherd, String path, int concurrency) {
        clients = Executors.newFixedThreadPool(concurrency);
        long deadline = System.nanoTime() + MAX_TIME.toNanos();
        for (int i = 0; i < concurrency; i++) {
            clients.execute(() -> {
                HttpRequest request = HttpRequest.newBuilder(shepherd.proxy(path)).timeout(Duration.ofSeconds(30)).build();
                while (!stop.get() && total() < MAX_REQUESTS && System.nanoTime() < deadline) {
                    try {
                        HttpResponse<String> response = shepherd.http().send(request, HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() == 200) {
                            ok.incrementAndGet();
                        } else {
                            fail(response.statusCode() + " " + response.body().trim());
                        }
                    } catch (Exception ex) {
                        fail(ex.toString());
                    }
                }
            });
        }
    }

    public static Traffic start(RunningShepherd shepherd, String path, int concurrency) {
        return new Traffic(shepherd, path, concurrency);
    }

    private void fail(String what) {
        failures.computeIfAbsent(what.length() > 80 ? what.substring(0, 80) : what, key -> new AtomicInteger()).incrementAndGet();
        if (failureSamples.size() < 10) {
            failureSamples.add(what);
        }
    }

    public int ok() {
        return ok.get();
    }

    public int failed() {
        return failures.values().stream().mapToInt(AtomicInteger::get).sum();
    }

    public int total() {
        return ok() + failed();
    }

    public Map<String, AtomicInteger> failures() {
        return failures;
    }

    /** Stops the clients and waits for the requests under way. */
    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        clients.shutdown();
        clients.awaitTermination(40, TimeUnit.SECONDS);
    }
}
