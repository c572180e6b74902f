package dev.shepherd.proxy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.shepherd.testsupport.JdkOnly;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker for tests, run as its own process, that could serve many requests at once (a thread per connection)
 * but checks that it never has to: each request (not {@code /health}, which the fleet's probes send past the
 * proxy) counts itself in, and when it finds another one in progress it appends a line
 * {@code overlap pid=P requests=N} to the file named by {@code VIOLATIONS_FILE} before it answers. Each request
 * takes {@code ?ms=N} milliseconds (default 2) and is answered "pid=P".
 */
@JdkOnly
public final class OneAtATimeWorker {

    private static final AtomicInteger ACTIVE = new AtomicInteger();

    public static void main(String[] args) throws IOException {
        // The JDK server writes a response's head and body apart; with Nagle on, the body waits for the ACK the
        // proxy delays by 40 ms, so every request would take 40 ms. Set before the server's classes load.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        int port = Integer.parseInt(System.getenv("PORT"));
        Path violations = Path.of(System.getenv("VIOLATIONS_FILE"));
        String pid = Long.toString(ProcessHandle.current().pid());
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 512);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/health", exchange -> respond(exchange, "ok"));
        server.createContext("/", exchange -> {
            int active = ACTIVE.incrementAndGet();
            try {
                if (active > 1) {
                    synchronized (OneAtATimeWorker.class) {
                        Files.writeString(violations, "overlap pid=" + pid + " requests=" + active + "\n",
                                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                    }
                }
                exchange.getRequestBody().readAllBytes();
                String query = exchange.getRequestURI().getQuery();
                sleep(query != null && query.startsWith("ms=") ? Long.parseLong(query.substring(3)) : 2);
            } finally {
                ACTIVE.decrementAndGet();
            }
            respond(exchange, "pid=" + pid);
        });
        server.start();
        System.out.println("one-at-a-time worker " + pid + " listening on " + port);
    }

    private static void sleep(long millis) {
        try {
            // The work of a request: the test program itself, not test logic, waits here.
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void respond(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
