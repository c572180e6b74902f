package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code shepherd top}'s reading of the fleet, without a terminal, against a fake admin API (the JDK's HTTP server)
 * whose event stream sends a burst of events.
 */
class TopViewTests {

    private static final String FLEET = "{\"desired\":1,\"ready\":1,\"actual\":1,\"reload\":{\"state\":\"IDLE\",\"generation\":1},"
            + "\"workers\":[{\"id\":1,\"index\":0,\"pid\":4242,\"state\":\"READY\"}]}";

    private final List<Long> fleetReads = new CopyOnWriteArrayList<>();
    private final CountDownLatch end = new CountDownLatch(1);
    private ExecutorService executor;
    private HttpServer server;
    private TopView view;

    @BeforeEach
    void start() throws IOException {
        executor = Executors.newCachedThreadPool();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(executor);
        server.createContext("/fleet", exchange -> {
            fleetReads.add(System.nanoTime());
            answer(exchange, FLEET);
        });
        server.createContext("/actuator/health", exchange -> answer(exchange, "{\"status\":\"UP\"}"));
        server.createContext("/fleet/events", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            OutputStream body = exchange.getResponseBody();
            for (int event = 0; event < 500; event++) {
                body.write("data: {\"type\":\"SPAWNED\"}\n\n".getBytes(StandardCharsets.UTF_8));
                body.flush();
            }
            try {
                end.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        server.start();
        view = new TopView(new AdminClient(new AdminTarget(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), null)));
    }

    private static void answer(HttpExchange exchange, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    @AfterEach
    void stop() {
        view.stop();
        end.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    @Test
    void burstOfEventsIsCoalescedIntoAtMostOneReadOfTheFleetPerFrameInterval() {
        view.startReading();

        await().atMost(Duration.ofSeconds(20)).until(() -> fleetReads.size() >= 4);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(view.frame()).anyMatch(line -> line.contains("4242")));

        List<Long> reads = new ArrayList<>(fleetReads);
        for (int read = 1; read < reads.size(); read++) {
            assertThat(TimeUnit.NANOSECONDS.toMillis(reads.get(read) - reads.get(read - 1)))
                    .as("time between reads %d and %d", read - 1, read).isGreaterThanOrEqualTo(TopView.MIN_FRAME_MILLIS - 10);
        }
    }

    @Test
    void quittingDoesNotWaitForTheNextEventOfASilentStream() {
        view.startReading();
        await().atMost(Duration.ofSeconds(20)).until(() -> fleetReads.size() >= 2);

        // The stream is open and silent (the master sends no event for 30 s): q must not wait for one.
        assertThat(java.util.concurrent.CompletableFuture.runAsync(view::stop, executor))
                .succeedsWithin(Duration.ofSeconds(5));
    }
}
