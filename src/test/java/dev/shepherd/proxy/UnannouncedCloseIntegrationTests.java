package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A worker that closes a kept-alive connection a moment after answering, without {@code Connection: close} (the JDK's
 * HttpServer past its 200 idle connections, or after a body over 64 KB it did not read): a POST that the proxy wrote
 * on that connection in between failed with nothing received and got a 502 from a healthy worker (found by attack:
 * 0.6 % of the POSTs of 500 keep-alive clients, 8 % of a bystander's). A request that cannot be sent again now goes
 * only on a connection idle long enough for such a close to have arrived; one that can is retried as before.
 */
class UnannouncedCloseIntegrationTests {

    private static final int REQUESTS = 150;
    /** Late closes a loaded machine can cause; without the fix, half of the POSTs failed. */
    private static final int TOLERATED = 10;

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)));
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    /**
     * The worker closes 1 ms after each answer, and the client's next POST comes within a fraction of that: on the
     * connection just returned, every other POST failed (half of them 502). A settled connection is one idle 5 ms,
     * so a close that comes later than that (the worker's thread delayed on a machine running the whole build) would
     * still fail one: a few in {@value #REQUESTS} are tolerated (4 failed once while an attacking helper loaded the
     * machine beside the build), not the half.
     */
    @Test
    void postsOnAKeptAliveClientConnectionDoNotMeetTheWorkersCloseAfterTheLastAnswer() throws IOException {
        double failedBefore = failures();
        Map<String, Integer> statuses = sendInTurn("POST", REQUESTS);

        assertThat(statuses.getOrDefault("200", 0)).as("POSTs answered 200 of " + REQUESTS + ": " + statuses)
                .isGreaterThanOrEqualTo(REQUESTS - TOLERATED);
        assertThat(failures() - failedBefore).as("worker connections that failed a request").isLessThanOrEqualTo(TOLERATED);
    }

    /** A GET can be sent again: it takes the connection its client connection returned at once, and is retried. */
    @Test
    void getsStillTakeTheReturnedConnectionAtOnceAndAreRetriedWhenItCloses() throws IOException {
        double failedBefore = failures();
        Map<String, Integer> statuses = sendInTurn("GET", 20);

        assertThat(statuses).as("statuses of 20 GETs").isEqualTo(Map.of("200", 20));
        assertThat(failures() - failedBefore).as("GETs that met the close and were retried").isPositive();
    }

    /**
     * Sends {@code count} requests one after the other on one kept-alive client connection, each answered by a worker
     * that closes its connection 1 ms after answering, and counts the statuses.
     */
    private static Map<String, Integer> sendInTurn(String method, int count) throws IOException {
        Map<String, Integer> statuses = new TreeMap<>();
        byte[] request = (method + " /close-unannounced?after=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            socket.setSoTimeout(20_000);
            socket.setTcpNoDelay(true);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            for (int i = 0; i < count; i++) {
                out.write(request);
                out.flush();
                String head = RawHttp.readHead(in);
                assertThat(head).as("a whole response head").endsWith("\r\n\r\n");
                String status = head.substring(9, 12);
                int length = Integer.parseInt(head.replaceAll("(?is).*content-length: *(\\d+).*", "$1"));
                String body = new String(in.readNBytes(length), StandardCharsets.US_ASCII);
                statuses.merge(status.equals("200") ? status : status + " " + body.strip(), 1, Integer::sum);
                if (head.toLowerCase().contains("connection: close")) {
                    break;
                }
            }
        }
        return statuses;
    }

    /** Attempts that failed on a worker connection after the request was written. */
    private static double failures() {
        return shepherd.context().getBean(MeterRegistry.class).get("shepherd.proxy.upstream.failures")
                .tag("reason", "sent").counter().count();
    }
}
