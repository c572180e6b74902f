package dev.shepherd.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's meters, named {@code shepherd.proxy.*}. Meters are looked up once and cached, so recording a
 * request costs a map read and a timer update.
 */
final class ProxyMetrics {

    private final MeterRegistry registry;
    private static final String[] STATUS_CLASSES = {"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"};

    /** Method, then status class, then outcome: keys that exist already, so a lookup allocates nothing. */
    private final Map<String, Map<String, Map<String, Timer>>> timers = new ConcurrentHashMap<>();
    private final Map<Exchange.Failure, Counter> failures = new EnumMap<>(Exchange.Failure.class);
    private final Map<Exchange.Failure, Counter> retries = new EnumMap<>(Exchange.Failure.class);

    ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
        for (Exchange.Failure failure : Exchange.Failure.values()) {
            String reason = failure.name().toLowerCase().replace('_', '-');
            failures.put(failure, Counter.builder("shepherd.proxy.upstream.failures")
                    .description("Failed attempts on a worker, by how far they got").tag("reason", reason).register(registry));
            retries.put(failure, Counter.builder("shepherd.proxy.retries")
                    .description("Attempts retried on another worker").tag("reason", reason).register(registry));
        }
    }

    void completed(RequestHead head, int status, long startNanos, int attempts) {
        timer(head.request().method(), statusClass(status), attempts > 1 ? "retried" : "success")
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    void failed(RequestHead head, HttpResponseStatus status, long startNanos) {
        timer(head.request().method(), statusClass(status.code()), "proxy-error")
                .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    void rejected(HttpResponseStatus status) {
        Counter.builder("shepherd.proxy.rejected").description("Requests refused before routing (malformed, too large)")
                .tag("status", Integer.toString(status.code())).register(registry).increment();
    }

    void upstreamFailure(Exchange.Failure failure) {
        failures.get(failure).increment();
    }

    void retried(Exchange.Failure failure) {
        retries.get(failure).increment();
    }

    private static String statusClass(int status) {
        return STATUS_CLASSES[Math.max(0, Math.min(5, status / 100))];
    }

    private Timer timer(HttpMethod method, String statusClass, String outcome) {
        Map<String, Map<String, Timer>> byStatus = timers.computeIfAbsent(method.name(), key -> new ConcurrentHashMap<>());
        Map<String, Timer> byOutcome = byStatus.computeIfAbsent(statusClass, key -> new ConcurrentHashMap<>());
        Timer timer = byOutcome.get(outcome);
        if (timer == null) {
            timer = byOutcome.computeIfAbsent(outcome, key -> Timer.builder("shepherd.proxy.requests")
                    .description("Requests through the proxy").tag("method", method.name())
                    .tag("status", statusClass).tag("outcome", outcome).register(registry));
        }
        return timer;
    }
}
