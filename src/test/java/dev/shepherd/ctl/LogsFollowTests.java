package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code logs -f} against a fake admin API whose worker 1 has 10 lines at the first ask and 2,510 from then on, and
 * has left the fleet: the lines it wrote before it left are all printed, past the pages of one ask.
 */
class LogsFollowTests {

    private static final int LINES = 2510;

    private HttpServer server;
    private Map<String, String> env;
    private final AtomicInteger fleetAsks = new AtomicInteger();
    private final AtomicInteger logAsks = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/fleet", exchange -> CtlTests.answer(exchange, 200, fleetAsks.getAndIncrement() == 0
                ? "{\"workers\":[{\"id\":1}]}" : "{\"workers\":[]}"));
        server.createContext(SpawnedWorkers.PATH, exchange -> CtlTests.answer(exchange, 200, "[]"));
        server.createContext("/fleet/workers/1/logs", exchange -> {
            Map<String, String> query = new HashMap<>();
            for (String pair : exchange.getRequestURI().getQuery().split("&")) {
                query.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
            }
            int written = logAsks.getAndIncrement() == 0 ? 10 : LINES;
            int lines = Integer.parseInt(query.get("lines"));
            int from = query.containsKey("after") ? Integer.parseInt(query.get("after")) + 1 : Math.max(1, written - lines + 1);
            StringJoiner answer = new StringJoiner(",", "[", "]");
            IntStream.rangeClosed(from, Math.min(written, from + lines - 1)).forEach(seq -> answer.add("{\"seq\":" + seq
                    + ",\"pid\":9,\"at\":\"2025-01-01T00:00:00Z\",\"line\":\"line " + seq + "\",\"stream\":\"stdout\"}"));
            CtlTests.answer(exchange, 200, answer.toString());
        });
        server.start();
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static List<String> every() {
        return IntStream.rangeClosed(1, LINES).mapToObj(seq -> "line " + seq).toList();
    }

    /** It ended after one page of the worker's last lines: those past it were never printed. */
    @Test
    void followingOneWorkerThatLeftPrintsAllItsLinesBeforeItEnds() {
        CtlTests.Result result = CtlTests.run(env, "logs", "1", "-f");

        assertThat(result.out().lines().toList()).isEqualTo(every());
        assertThat(result.err()).startsWith("worker 1 has left the fleet");
    }

    /** A worker gone from GET /fleet was let go at once: its lines since the last ask were never printed. */
    @Test
    void followingEveryWorkerPrintsTheLastLinesOfOneThatLeft() throws Exception {
        java.io.StringWriter out = new java.io.StringWriter();
        Thread follow = new Thread(() -> Ctl.run(new String[] {"logs", "-f"}, new java.io.PrintWriter(out, true),
                new java.io.PrintWriter(new java.io.StringWriter(), true), env), "logs-f");
        follow.setDaemon(true);
        follow.start();
        try {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
                    .until(() -> out.toString().contains("1 | line " + LINES + "\n"));
        } finally {
            follow.interrupt();
        }

        assertThat(out.toString().lines().toList()).isEqualTo(every().stream().map(line -> "1 | " + line).toList());
    }
}
