package dev.shepherd.testsupport;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A tiny real worker for tests, started as its own process: echoes what it received, and can be slow, big or
 * record each request to a file ({@code RECORD_FILE}), so tests can see what reached a worker.
 * <ul>
 *   <li>{@code /health}: 200 ok (503 when env NEVER_READY is set, or NEVER_READY_FILE names a file that exists)</li>
 *   <li>{@code /stream}: records "head-received" before it reads the body</li>
 *   <li>{@code /leak?mb=N}: keeps N more MB for ever (a memory leak)</li>
 *   <li>{@code /die-after-head?pid=P}: the worker with pid P sends a response head and dies before the body</li>
 *   <li>{@code /die-before-answer?pid=P}: the worker with pid P reads the whole request and dies without answering;
 *       the others echo</li>
 *   <li>{@code /digest}: "pid=..., body=<length>, sha256=<hex of the body>"</li>
 *   <li>{@code /slow?ms=N}: answers after N ms</li>
 *   <li>{@code /hang-up}: closes the connection without an answer (the worker stays up)</li>
 *   <li>{@code /fail?pid=P}: the worker with pid P answers 500 (as one with a broken database pool would, its
 *       health still ok); the others echo</li>
 *   <li>{@code /bytes?n=N}: a body of N bytes</li>
 *   <li>{@code /print?lines=N&to=stdout|stderr|both&tag=T}: writes N lines as fast as it can, "T out I" to its
 *       standard output, or "T err I" to its standard error, or each in turn to both (I from 0), then answers
 *       "printed N"</li>
 *   <li>{@code /login}: sets a session cookie of its own, {@code JSESSIONID=<pid>x<n>}, as a servlet container
 *       does; {@code /logout} deletes it ({@code Max-Age=0})</li>
 *   <li>{@code /env}: "NAME=value" lines of the variables Shepherd gives a worker (SHEPHERD_*, NODE_APP_INSTANCE,
 *       PORT), sorted</li>
 *   <li>{@code /whoami}: "pid=...", "args=..." (its own arguments), "version=..." (env ECHO_VERSION, or -) and
 *       "cwd=..." lines, so a test sees which command and spec a worker runs</li>
 *   <li>{@code /ready}: 200 ready, whatever NEVER_READY says (a readiness path of its own)</li>
 *   <li>anything else: "pid=..., method=..., uri=..., body=<length>" and one line per header</li>
 * </ul>
 */
@JdkOnly
public final class EchoWorker {

    /** What {@code /leak?mb=N} keeps forever, to grow the resident memory. */
    private static final java.util.List<byte[]> LEAKED = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static final java.util.concurrent.atomic.AtomicInteger SESSIONS = new java.util.concurrent.atomic.AtomicInteger();

    /** Writes {@code lines} numbered lines in large writes, as a busy app's logger does. */
    private static String print(int lines, String to, String tag) {
        StringBuilder out = new StringBuilder();
        StringBuilder err = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            boolean toErr = to.equals("stderr") || to.equals("both") && i % 2 == 1;
            (toErr ? err : out).append(tag).append(toErr ? " err " : " out ").append(i).append('\n');
        }
        System.out.print(out);
        System.out.flush();
        System.err.print(err);
        System.err.flush();
        return "printed " + lines + "\n";
    }

    public static void main(String[] args) throws IOException {
        // The JDK server writes a response's head and body apart; with Nagle on, the body waits for the ACK the
        // proxy delays by 40 ms, so every request would take 40 ms. Set before the server's classes load.
        System.setProperty("sun.net.httpserver.nodelay", "true");
        int port = Integer.parseInt(System.getenv("PORT"));
        String pid = Long.toString(ProcessHandle.current().pid());
        String record = System.getenv("RECORD_FILE");
        String neverReadyFile = System.getenv("NEVER_READY_FILE");
        boolean neverReady = System.getenv("NEVER_READY") != null
                || neverReadyFile != null && Files.exists(Path.of(neverReadyFile));
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 512);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/health", exchange -> respond(exchange, neverReady ? 503 : 200, "ok"));
        server.createContext("/ready", exchange -> respond(exchange, 200, "ready"));
        server.createContext("/whoami", exchange -> respond(exchange, 200, "pid=" + pid + "\nargs=" + String.join(" ", args)
                + "\nversion=" + System.getenv().getOrDefault("ECHO_VERSION", "-") + "\ncwd="
                + Path.of("").toAbsolutePath() + "\n"));
        // Shepherd's own variables, and those named in ?names=A,B that the worker has.
        server.createContext("/env", exchange -> respond(exchange, 200, new TreeMap<>(System.getenv()).entrySet().stream()
                .filter(entry -> entry.getKey().startsWith("SHEPHERD_") || entry.getKey().equals("NODE_APP_INSTANCE")
                        || entry.getKey().equals("PORT") || List.of(query(exchange.getRequestURI())
                        .getOrDefault("names", "").split(",")).contains(entry.getKey()))
                .map(entry -> entry.getKey() + "=" + entry.getValue() + "\n").collect(Collectors.joining())));
        server.createContext("/", exchange -> {
            URI uri = exchange.getRequestURI();
            if (record != null && uri.getPath().equals("/stream")) {
                Files.writeString(Path.of(record), pid + " head-received\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            byte[] body = exchange.getRequestBody().readAllBytes();
            Map<String, String> query = query(uri);
            if (record != null) {
                String line = pid + " " + exchange.getRequestMethod() + " " + uri + " " + body.length + "\n";
                Files.writeString(Path.of(record), line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            }
            if (uri.getPath().equals("/slow")) {
                sleep(Long.parseLong(query.getOrDefault("ms", "1000")));
            }
            if (uri.getPath().equals("/leak")) {
                byte[] block = new byte[Integer.parseInt(query.getOrDefault("mb", "1")) * 1024 * 1024];
                java.util.Arrays.fill(block, (byte) 1);
                LEAKED.add(block);
            }
            if (uri.getPath().equals("/die-after-head") && pid.equals(query.get("pid"))) {
                exchange.sendResponseHeaders(200, 10);
                exchange.getResponseBody().flush();
                Runtime.getRuntime().halt(1);
            }
            if (uri.getPath().equals("/die-before-answer") && pid.equals(query.get("pid"))) {
                Runtime.getRuntime().halt(1);
            }
            if (uri.getPath().equals("/digest")) {
                respond(exchange, 200, "pid=" + pid + "\nbody=" + body.length + "\nsha256=" + sha256(body) + "\n");
                return;
            }
            if (uri.getPath().equals("/fail") && pid.equals(query.get("pid"))) {
                respond(exchange, 500, "pid=" + pid + " failing on purpose\n");
                return;
            }
            if (uri.getPath().equals("/hang-up")) {
                throw new IllegalStateException("hanging up on purpose");
            }
            if (uri.getPath().equals("/login")) {
                exchange.getResponseHeaders().add("Set-Cookie", "JSESSIONID=" + pid + "x" + SESSIONS.incrementAndGet()
                        + "; Path=/; HttpOnly");
            }
            if (uri.getPath().equals("/logout")) {
                exchange.getResponseHeaders().add("Set-Cookie", "JSESSIONID=; Max-Age=0; Path=/");
            }
            if (uri.getPath().equals("/chunked-bytes")) {
                // Length 0: the JDK's server sends the body chunked, this write as one chunk.
                exchange.sendResponseHeaders(200, 0);
                try (var out = exchange.getResponseBody()) {
                    out.write("x".repeat(Integer.parseInt(query.getOrDefault("n", "0"))).getBytes());
                }
                return;
            }
            if (uri.getPath().equals("/print")) {
                respond(exchange, 200, print(Integer.parseInt(query.getOrDefault("lines", "1")), query.getOrDefault("to", "stdout"),
                        query.getOrDefault("tag", "")));
                return;
            }
            if (uri.getPath().equals("/bytes")) {
                respond(exchange, 200, "x".repeat(Integer.parseInt(query.getOrDefault("n", "0"))));
                return;
            }
            String headers = new TreeMap<>(exchange.getRequestHeaders()).entrySet().stream()
                    .map(entry -> entry.getKey().toLowerCase() + ": " + String.join(",", entry.getValue()))
                    .collect(Collectors.joining("\n"));
            respond(exchange, 200, "pid=" + pid + "\nmethod=" + exchange.getRequestMethod() + "\nuri=" + uri
                    + "\nbody=" + body.length + "\n" + headers + "\n");
        });
        server.start();
        System.out.println("echo worker " + pid + " listening on " + port);
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> params = new TreeMap<>();
        if (uri.getQuery() != null) {
            for (String pair : uri.getQuery().split("&")) {
                String[] parts = pair.split("=", 2);
                params.put(parts[0], parts.length > 1 ? parts[1] : "");
            }
        }
        return params;
    }

    static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static void sleep(long millis) {
        try {
            // A deliberately slow worker: the test program itself, not test logic, waits here.
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
