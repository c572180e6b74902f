package dev.shepherd.demo;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The seed's {@code server.js} in Java: the built-in demo worker.
 *
 * <p>Deliberately free of Spring and of any library, so that it starts in a fraction of a second.
 * The master configures it through environment variables only:
 * <ul>
 *   <li>{@code PORT}: the loopback port to listen on (required);</li>
 *   <li>{@code SHEPHERD_DEMO_WORK}: iterations of CPU work per {@code GET /} (default 1 500 000, about the
 *       cost of the seed's empty 10-million-iteration loop in Node);</li>
 *   <li>{@code SHEPHERD_DEMO_CRASH_WITHIN_MS}: when set, the worker exits with code 1 at a random moment
 *       within that many milliseconds after it starts, like the seed's crash simulation.</li>
 * </ul>
 * {@code GET /health} answers {@code ok}. The worker exits by itself when its parent process is gone.
 */
public final class DemoWorker {

    /** About the cost of the seed's empty 10-million-iteration loop in Node (4 ms here; see bench/RESULTS.md). */
    static final long DEFAULT_WORK = 1_500_000L;
    private static final long PARENT_CHECK_MILLIS = 500;
    /** Idle connections the JDK server keeps: more than the proxy holds to one worker ({@code UpstreamPool}). */
    static final int IDLE_CONNECTIONS = 65_536;

    private final long work;
    private final String pid = Long.toString(ProcessHandle.current().pid());
    /** Written by every request so the JIT cannot drop the loop as dead code. */
    private volatile long sink;

    DemoWorker(long work) {
        this.work = work;
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(required("PORT"));
        long work = Optional.ofNullable(System.getenv("SHEPHERD_DEMO_WORK")).map(Long::parseLong).orElse(DEFAULT_WORK);
        new DemoWorker(work).start(port);
        Optional.ofNullable(System.getenv("SHEPHERD_DEMO_CRASH_WITHIN_MS")).map(Long::parseLong)
                .filter(ms -> ms > 0).ifPresent(DemoWorker::scheduleCrash);
        watchParent();
    }

    void start(int port) throws IOException {
        // Without it the JDK server leaves Nagle's algorithm on: 40 ms per request on a kept-alive connection.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        // Past 200 idle connections (its default) the JDK server closes a kept-alive connection right after answering
        // on it, without Connection: close, and a POST the proxy sends on it meanwhile fails (502). The proxy keeps
        // the connections it opens within its own limits.
        System.setProperty("sun.net.httpserver.maxIdleConnections", Integer.toString(IDLE_CONNECTIONS));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        ExecutorService executor = Executors.newFixedThreadPool(Math.max(4, Runtime.getRuntime().availableProcessors() * 2),
                threads("demo-http"));
        server.setExecutor(executor);
        server.createContext("/health", exchange -> {
            // A body left unread past 64 KB makes the JDK server close the connection after answering, unannounced.
            drain(exchange.getRequestBody());
            respond(exchange, 200, "ok");
        });
        server.createContext("/", this::handleRoot);
        server.start();
        System.out.println("Server started in process " + pid + " on port " + port);
    }

    private void handleRoot(HttpExchange exchange) throws IOException {
        drain(exchange.getRequestBody());
        sink = burnCpu(work);
        respond(exchange, 200, "Process handled by pid: " + pid);
    }

    /** CPU work whose result is used, so it costs the same however clever the JIT is. */
    static long burnCpu(long iterations) {
        long x = 0x9E3779B97F4A7C15L;
        for (long i = 0; i < iterations; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
        }
        return x;
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        boolean head = "HEAD".equals(exchange.getRequestMethod());
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
        exchange.close();
    }

    private static void drain(InputStream in) throws IOException {
        in.transferTo(OutputStream.nullOutputStream());
    }

    private static void scheduleCrash(long withinMillis) {
        long delay = ThreadLocalRandom.current().nextLong(withinMillis);
        Executors.newSingleThreadScheduledExecutor(threads("demo-crash")).schedule(() -> {
            System.out.println("Simulated crash of process " + ProcessHandle.current().pid());
            System.exit(1);
        }, delay, TimeUnit.MILLISECONDS);
    }

    /** The master normally kills us through a parent-death signal; this is the fallback everywhere else. */
    private static void watchParent() {
        Optional<ProcessHandle> parent = ProcessHandle.current().parent();
        Executors.newSingleThreadScheduledExecutor(threads("demo-parent-watch")).scheduleWithFixedDelay(() -> {
            Optional<ProcessHandle> now = ProcessHandle.current().parent();
            boolean gone = parent.isEmpty() || now.isEmpty() || now.get().pid() != parent.get().pid() || !parent.get().isAlive();
            if (gone) {
                System.out.println("Master is gone; process " + ProcessHandle.current().pid() + " exits");
                System.exit(0);
            }
        }, PARENT_CHECK_MILLIS, PARENT_CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Daemon threads: the HTTP server's own dispatcher thread is what keeps the process alive. */
    private static java.util.concurrent.ThreadFactory threads(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    private static String required(String name) {
        String value = System.getenv(name);
        if (value == null || value.isBlank()) {
            System.err.println("Environment variable " + name + " is required");
            System.exit(2);
        }
        return value;
    }
}
