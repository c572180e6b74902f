package dev.shepherd.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.HistogramSnapshot;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerSnapshot;
import io.micrometer.core.instrument.FunctionTimer;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's meters, named {@code shepherd.proxy.*}. Every tag takes its values from a fixed set (methods fold
 * into {@link #METHODS} or OTHER, statuses into classes), so no client can grow the registry. Meters are looked up once and cached, so recording a
 * request costs three map reads and two striped-adder updates.
 */
final class ProxyMetrics {

    /** The outcome of a request whose response the worker cut short ({@link #cut}). */
    private static final String CUT = "cut";

    private final MeterRegistry registry;
    private static final String[] STATUS_CLASSES = {"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"};
    /**
     * The method tag's values: RFC 9110's methods and PATCH; any other method a client sends counts as OTHER, so
     * clients cannot make the registry grow.
     */
    private static final Set<String> METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
            "TRACE", "PATCH");

    /** Method, then status class, then outcome: keys that exist already, so a lookup allocates nothing. */
    private final Map<String, Map<String, Map<String, Stats>>> timers = new ConcurrentHashMap<>();
    private final Counter unasked;
    private final Map<RetryPolicy.Failure, Counter> failures = new EnumMap<>(RetryPolicy.Failure.class);
    private final Map<RetryPolicy.Failure, Counter> retries = new EnumMap<>(RetryPolicy.Failure.class);

    /** Retries the budget refused, by what followed: the worker had died, so retried anyway; or a 502. */
    private final Counter budgetExhaustedRetried;
    private final Counter budgetExhaustedFailed;
    private final Counter tunnelsOpened;
    private final Counter bodiesSpooled;
    private final Counter responsesSpooled;
    /** Sticky responses by what the request's cookie did: hit (its slot served it), rebind (another), new (none). */
    private final Counter stickyHit;
    private final Counter stickyRebind;
    private final Counter stickyNew;
    private final MultiGauge tunnels;
    /** Each worker index's processes (two during a reload, none between two processes), read at scrape time. */
    private volatile Map<Integer, List<Endpoint>> tunnelHolders = Map.of();
    /** The indexes the tunnel gauge has rows for: rows are registered only when these change (scaling). */
    private Set<Integer> tunnelIndexes = Set.of();
    private final Map<Tunnel.End, Counter> tunnelsClosed = new EnumMap<>(Tunnel.End.class);
    /** Registered once the proxy serves TLS; the registry returns the same counter to a second registration. */
    private volatile Counter tlsHandshakeFailures;

    ProxyMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.stickyHit = sticky(registry, "hit");
        this.stickyRebind = sticky(registry, "rebind");
        this.stickyNew = sticky(registry, "new");
        this.budgetExhaustedRetried = budgetExhausted(registry, "retried-after-exit");
        this.budgetExhaustedFailed = budgetExhausted(registry, "failed");
        // The usual refusals there from the start, at 0: a new user found no series to graph or alert on before the
        // first one (Prometheus' advice for known label values).
        for (HttpResponseStatus usual : List.of(HttpResponseStatus.BAD_REQUEST, HttpResponseStatus.REQUEST_TIMEOUT,
                HttpResponseStatus.REQUEST_URI_TOO_LONG, HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)) {
            rejectedCounter(usual);
        }
        this.tunnelsOpened = Counter.builder("shepherd.proxy.tunnels.opened")
                .description("Connections that switched protocols (101) and became tunnels").register(registry);
        this.bodiesSpooled = Counter.builder("shepherd.proxy.request.bodies.spooled")
                .description("Request bodies read before a worker was picked that passed fleet.proxy.retry.buffer-limit "
                        + "and went on into a file of fleet.proxy.client-body-temp-path (nginx logs each such body)")
                .register(registry);
        this.responsesSpooled = Counter.builder("shepherd.proxy.responses.spooled")
                .description("Responses whose client read slower than the worker sent, part of which went into a file "
                        + "of fleet.proxy.response-temp-path so that the worker was free (nginx's proxy_buffering "
                        + "logs each such response)")
                .register(registry);
        this.unasked = Counter.builder("shepherd.proxy.upstream.unasked")
                .description("Times a worker sent bytes nobody asked for (after a response's end or on an idle "
                        + "connection): each marks it out of step, with a new connection per request from then on, "
                        + "unless the connection carried a request body (only its sender got them)")
                .register(registry);
        this.tunnels = MultiGauge.builder("shepherd.proxy.tunnels")
                .description("Tunnels (WebSockets) open now, by worker index").register(registry);
        for (Tunnel.End end : Tunnel.End.values()) {
            tunnelsClosed.put(end, Counter.builder("shepherd.proxy.tunnels.closed")
                    .description("Tunnels ended: closed by either side, idle timeout, or going away (drain, exit)")
                    .tag("reason", end.name().toLowerCase().replace('_', '-')).register(registry));
        }
        for (RetryPolicy.Failure failure : RetryPolicy.Failure.values()) {
            String reason = failure.name().toLowerCase().replace('_', '-');
            failures.put(failure, Counter.builder("shepherd.proxy.upstream.failures")
                    .description("Failed attempts on a worker, by how far they got").tag("reason", reason).register(registry));
            retries.put(failure, Counter.builder("shepherd.proxy.retries")
                    .description("Attempts retried on another worker").tag("reason", reason).register(registry));
        }
    }

    /**
     * A client's TLS handshake failed ({@link ProxyTls}): an alert either way (no protocol or suite in common, a
     * malformed hello, an unknown client certificate), the client closing during it, no end within
     * {@code fleet.proxy.client-header-timeout}, or plain HTTP instead of a hello (answered {@code 400}). One count:
     * BoringSSL's refusals end in the close, and the header timeout and the handshake's own race, so no cause can be
     * told reliably. Nothing is logged for these, so that a scanner or a flood cannot fill the log. Any thread.
     */
    void tlsHandshakeFailed() {
        Counter failures = tlsHandshakeFailures;
        if (failures == null) {
            failures = tlsHandshakeFailures = tlsHandshakeCounter();
        }
        failures.increment();
    }

    /** The proxy serves TLS: its handshake failures' series is there from the start, at 0. */
    void tlsServed() {
        if (tlsHandshakeFailures == null) {
            tlsHandshakeFailures = tlsHandshakeCounter();
        }
    }

    private Counter tlsHandshakeCounter() {
        return Counter.builder("shepherd.proxy.tls.handshakes.failed")
                .description("Client TLS handshakes that failed: an alert either way, the client closing during it, "
                        + "no end within fleet.proxy.client-header-timeout, or plain HTTP instead of a hello").register(registry);
    }

    /** A worker sent bytes nobody asked for ({@link UpstreamHandler}). Any thread. */
    void unasked() {
        unasked.increment();
    }

    void completed(RequestHead head, int status, long startNanos, int attempts) {
        stats(head.request().method(), statusClass(status), attempts > 1 ? "retried" : "success")
                .record(System.nanoTime() - startNanos);
    }

    /**
     * The client closed its connection before the whole response reached it: outcome {@code client-closed}, with the
     * status class of the response it was getting, or {@code 4xx} when none had begun (nginx logs 499 then).
     */
    void clientClosed(RequestHead head, int status, long startNanos) {
        stats(head.request().method(), statusClass(status), "client-closed").record(System.nanoTime() - startNanos);
    }

    /**
     * The worker failed after its response began, and the client's was cut short (RFC 9112 §8; nginx logs the status
     * it began with): outcome {@code cut}, with the class of that status. A failure in the fleet's traffic totals
     * whatever the status ({@code TrafficTotals}): the client got no whole response.
     */
    void cut(RequestHead head, int status, long startNanos) {
        stats(head.request().method(), statusClass(status), CUT).record(System.nanoTime() - startNanos);
    }

    void failed(RequestHead head, HttpResponseStatus status, long startNanos) {
        stats(head.request().method(), statusClass(status.code()), "proxy-error").record(System.nanoTime() - startNanos);
    }

    void rejected(HttpResponseStatus status) {
        rejectedCounter(status).increment();
    }

    private Counter rejectedCounter(HttpResponseStatus status) {
        return Counter.builder("shepherd.proxy.rejected").description("Requests refused before routing: a malformed or "
                + "refused head (400, 405), one past the size limits (414, 431), one that did not arrive in time (408), "
                + "an Expect other than 100-continue (417), an unknown transfer coding (501), not HTTP/1.x (505)")
                .tag("status", Integer.toString(status.code())).register(registry);
    }

    /**
     * {@code shepherd_proxy_sticky_cookie_yielded}: 1 once a worker has set {@code fleet.proxy.sticky.cookie}'s
     * cookie itself and the proxy stopped setting it (sticky sessions by it are off until a restart), else 0; so
     * that a state a single warning line announces can be alerted on.
     */
    void stickyCookie(StickySessions sessions) {
        Gauge.builder("shepherd.proxy.sticky.cookie.yielded", sessions, s -> s.yielded() ? 1 : 0)
                .description("1 when a worker set the cookie fleet.proxy.sticky.cookie names and the proxy stopped "
                        + "setting it: sticky sessions by it are off until a restart")
                .register(registry);
    }

    /**
     * {@code shepherd_proxy_sticky_app_cookie_forgotten_total}: application cookie values forgotten for the bound
     * ({@code fleet.proxy.sticky.app-cookie-max-entries}), so that a map flushed by a flood of values is seen (an
     * attacking helper found it silent); registered only with {@code fleet.proxy.sticky.app-cookie} set.
     */
    Counter appCookieForgotten() {
        return Counter.builder("shepherd.proxy.sticky.app.cookie.forgotten")
                .description("Values of fleet.proxy.sticky.app-cookie forgotten because "
                        + "fleet.proxy.sticky.app-cookie-max-entries were remembered")
                .register(registry);
    }

    /**
     * The bytes the request bodies' and the responses' files hold now, against their bounds, and the room made at the
     * first one's bound, by how ({@link BodySpool#makeRoom}); either spool null when it is off.
     */
    void spools(BodySpool requests, BodySpool responses) {
        if (requests != null) {
            Gauge.builder("shepherd.proxy.request.bodies.kept", requests, BodySpool::bytes).baseUnit("bytes")
                    .description("Bytes of request bodies kept in files of fleet.proxy.client-body-temp-path now; "
                            + "fleet.proxy.client-body-temp-max-size bounds them")
                    .register(registry);
            for (SpoolHolder.Stage stage : SpoolHolder.Stage.values()) {
                if (stage != SpoolHolder.Stage.WHOLE) {
                    FunctionCounter.builder("shepherd.proxy.request.bodies.room.made", requests,
                                    spool -> spool.roomMade(stage))
                            .description("Request bodies that made room at fleet.proxy.client-body-temp-max-size: "
                                    + "a copy kept for a retry given up (sent), or the body refused with 503 (reading: "
                                    + "the slowest lately or its client's past its share; queued: waiting for a worker)")
                            .tag("body", stage.name().toLowerCase(java.util.Locale.ROOT))
                            .register(registry);
                }
            }
        }
        if (responses != null) {
            Gauge.builder("shepherd.proxy.responses.kept", responses, BodySpool::bytes).baseUnit("bytes")
                    .description("Bytes of responses kept in files of fleet.proxy.response-temp-path now for clients "
                            + "that read slower than their workers send; fleet.proxy.response-temp-max-size bounds them")
                    .register(registry);
        }
    }

    /** A body read first went past the memory limit into a file ({@link BodySpool}). */
    void bodySpooled() {
        bodiesSpooled.increment();
    }

    void responseSpooled() {
        responsesSpooled.increment();
    }

    void upstreamFailure(RetryPolicy.Failure failure) {
        failures.get(failure).increment();
    }

    private static Counter sticky(MeterRegistry registry, String result) {
        return Counter.builder("shepherd.proxy.sticky").tag("result", result)
                .description("Responses with fleet.proxy.sticky.cookie or app-cookie on, by whether the request was "
                        + "bound to the slot that served it (hit), to another or by a proxy cookie that names none "
                        + "(rebind), or to none (new)")
                .register(registry);
    }

    /** A response with sticky sessions on: {@code requested} as {@link StickySessions#slot}, {@code served} the slot. */
    void sticky(int requested, int served) {
        if (requested == StickySessions.FOREIGN) {
            // The application's own cookie of the name, left alone: no sticky response.
            return;
        }
        (requested == served ? stickyHit : requested == StickySessions.NO_COOKIE ? stickyNew : stickyRebind).increment();
    }

    void retried(RetryPolicy.Failure failure) {
        retries.get(failure).increment();
    }

    /**
     * A retry the policy allowed found the retry budget spent: {@code exited}, the worker that failed it had died,
     * so it was retried all the same (and counted in {@code shepherd.proxy.retries} too); else the proxy answered.
     */
    void budgetExhausted(boolean exited) {
        (exited ? budgetExhaustedRetried : budgetExhaustedFailed).increment();
    }

    private static Counter budgetExhausted(MeterRegistry registry, String outcome) {
        return Counter.builder("shepherd.proxy.retry.budget.exhausted").tag("outcome", outcome)
                .description("Retries the retry budget refused, by outcome: retried-after-exit (the worker that failed "
                        + "the request had died: its in-flight requests are retried whatever the budget says) or "
                        + "failed (the proxy answered: 502, or 504 for a connection that timed out)")
                .register(registry);
    }

    /**
     * Keeps one row of the {@code shepherd.proxy.tunnels} gauge per worker index (tag {@code index}: the stable
     * 0..N-1 slot), summing at scrape time the tunnels of the processes that hold it now (two during a reload; none,
     * so 0, while its worker is between two processes). Rows are registered when the set of indexes changes, which
     * is scaling only: a registration replaces a row by removing it first, so doing it on every restart, recycle or
     * reload step would make the series vanish from a scrape that came at that moment. Called with each fleet
     * snapshot, from the thread that publishes it.
     */
    synchronized void tunnelsPerWorker(FleetSnapshot snapshot) {
        Map<Integer, List<Endpoint>> byIndex = new java.util.TreeMap<>();
        for (WorkerSnapshot worker : snapshot.workers()) {
            List<Endpoint> holders = byIndex.computeIfAbsent(worker.index(), index -> new java.util.ArrayList<>());
            if (worker.endpoint() != null) {
                holders.add(worker.endpoint());
            }
        }
        tunnelHolders = byIndex;
        if (byIndex.keySet().equals(tunnelIndexes)) {
            return;
        }
        tunnelIndexes = Set.copyOf(byIndex.keySet());
        tunnels.register(byIndex.keySet().stream().map(index -> MultiGauge.Row.of(
                Tags.of("index", Integer.toString(index)), index, this::tunnelsAt)).toList(), false);
    }

    private double tunnelsAt(Integer index) {
        return tunnelHolders.getOrDefault(index, List.of()).stream().mapToInt(Endpoint::tunnels).sum();
    }

    void tunnelOpened() {
        tunnelsOpened.increment();
    }

    void tunnelClosed(Tunnel.End end) {
        tunnelsClosed.get(end).increment();
    }

    private static String statusClass(int status) {
        return STATUS_CLASSES[Math.max(0, Math.min(5, status / 100))];
    }

    private Stats stats(HttpMethod method, String statusClass, String outcome) {
        String methodTag = METHODS.contains(method.name()) ? method.name() : "OTHER";
        Map<String, Map<String, Stats>> byStatus = timers.computeIfAbsent(methodTag, key -> new ConcurrentHashMap<>());
        Map<String, Stats> byOutcome = byStatus.computeIfAbsent(statusClass, key -> new ConcurrentHashMap<>());
        Stats stats = byOutcome.get(outcome);
        if (stats == null) {
            stats = byOutcome.computeIfAbsent(outcome, key -> {
                Tags tags = Tags.of("method", methodTag, "status", statusClass, "outcome", outcome);
                Timer timer = Timer.builder(REQUESTS).description(REQUESTS_DESCRIPTION).tags(tags).register(registry);
                HistogramSnapshot asked = timer.takeSnapshot();
                if (asked.histogramCounts().length > 0 || asked.percentileValues().length > 0) {
                    // The registry's filters give it a distribution (Spring Boot's
                    // management.metrics.distribution.percentiles-histogram, percentiles or slo for this name, a
                    // MeterFilter): a Timer keeps it, at its cost per request, which the operator asked for.
                    return new Stats(timer);
                }
                registry.remove(timer);
                Stats created = new Stats(null);
                FunctionTimer.builder(REQUESTS, created, Stats::count, Stats::totalNanos, TimeUnit.NANOSECONDS)
                        .description(REQUESTS_DESCRIPTION).tags(tags).register(registry);
                return created;
            });
        }
        return stats;
    }

    /** {@code shepherd.proxy.requests}: its name and description. */
    private static final String REQUESTS = "shepherd.proxy.requests";
    private static final String REQUESTS_DESCRIPTION = "Requests through the proxy";

    /**
     * Count and total time of one kind of request. Striped adders: the event loops never contend on a line, which
     * a Timer's shared maximum would make them do on every request; or a {@link Timer}, when the registry gives the
     * name a distribution (found by a helper acting as a new user: Spring Boot's percentiles-histogram setting was
     * taken and did nothing, and the proxy's p99 could be had only from the access log).
     */
    private static final class Stats {
        private final LongAdder count = new LongAdder();
        private final LongAdder nanos = new LongAdder();
        /** The Timer that records instead; null: the adders do. */
        private final Timer timer;

        Stats(Timer timer) {
            this.timer = timer;
        }

        void record(long elapsedNanos) {
            if (timer != null) {
                timer.record(elapsedNanos, TimeUnit.NANOSECONDS);
                return;
            }
            count.increment();
            nanos.add(elapsedNanos);
        }

        long count() {
            return count.sum();
        }

        double totalNanos() {
            return nanos.sum();
        }
    }
}
