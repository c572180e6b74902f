package dev.shepherd.proxy;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A master that runs out of file descriptors. {@code max-connections} keeps the proxy's own connections within the
 * open-file limit, after the admin port's 256 ({@code server.tomcat.max-connections}) and a reserve: here 700
 * descriptors, 67 client connections. The limit is then lowered to 400 under the running master (as other files
 * would take them), and the admin port's connections, the client connections and a temporary file for each upload
 * take the rest. Then accepts fail ({@code EMFILE}), bodies cannot be stored, the liveness probes cannot open a
 * socket and a crashed worker cannot be spawned. Found by attacking helpers (2026-12-03): on io_uring a failed multishot
 * accept was re-armed at once, and both event loops spun (8.7 million failed accepts in a minute); the probes'
 * failures counted against the workers, and healthy workers were killed.
 */
class DescriptorExhaustionIntegrationTests {

    private static final Pattern MAX_CONNECTIONS = Pattern.compile("at most (\\d+) client connections");
    private static final Pattern ACCEPT_FAILURES = Pattern.compile("(?m)^shepherd_proxy_accept_failures_total (\\S+)$");

    @Test
    void aMasterOutOfDescriptorsPausesItsAcceptsKeepsItsWorkersAndServesOnceTheyAreBack() throws Exception {
        Tools.assumePrlimit();
        List<Socket> held = new ArrayList<>();
        try (MasterProcess master = MasterProcess.startReadyWithOpenFileLimit(700, List.of(), 2,
                "--fleet.liveness.interval=1s")) {
            List<Long> workers = master.readyWorkerPids();
            int proxy = master.proxyPort();
            Matcher limit = MAX_CONNECTIONS.matcher(master.output());
            assertThat(limit.find()).as("the startup line gives max-connections").isTrue();
            int maxConnections = Integer.parseInt(limit.group(1));
            assertThat(maxConnections).as("(700 - the admin port's 256 - a reserve of 175) / 4 a connection: its "
                    + "own, a worker's, a request body's and a response's temporary file").isEqualTo(67);
            // Served once first, as a master in use has been: run from target/classes, a class the proxy loads at its
            // first connection could not be read once out of descriptors, and that failure is for good.
            assertThat(RawHttp.status(RawClient.exchange(proxy, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                    5_000).bytes())).isEqualTo(200);
            lowerOpenFileLimit(master.pid(), 400);

            // Each admin connection waits for the rest of its head until connection-timeout (10 s).
            for (int i = 0; i < 256; i++) {
                held.add(open(master.adminPort(), "GET /fleet HTTP/1.1\r\n"));
            }
            // Each upload past retry.buffer-limit (64 KB) holds its connection and a temporary file.
            String upload = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n" + "x".repeat(80 * 1024);
            for (int i = 0; i < maxConnections - 10; i++) {
                held.add(open(proxy, upload));
            }
            for (int i = 0; i < 50; i++) {
                held.add(open(proxy, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
            }
            // A worker that crashes now cannot be replaced at once: not even a port can be picked for it.
            long crashed = workers.get(0);
            ProcessHandle.of(crashed).ifPresent(ProcessHandle::destroyForcibly);
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(7)).until(master::isAlive);

            RawHttp.closeAll(held);
            HttpClient http = HttpClient.newHttpClient();
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy + "/")).timeout(Duration.ofSeconds(5))
                            .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
            Matcher failures = ACCEPT_FAILURES.matcher(master.admin("/actuator/prometheus").body());
            assertThat(failures.find()).isTrue();
            double failedAccepts = Double.parseDouble(failures.group(1));
            assertThat(failedAccepts).as("the master did run out of descriptors").isPositive();
            assertThat(failedAccepts).as("each failed accept pauses its socket a second: no spinning")
                    .isLessThan(1_000);
            await().atMost(Duration.ofSeconds(30)).until(() -> master.readyWorkerPids().size() == 2);
            assertThat(master.readyWorkerPids()).as("no worker was killed for the master's own shortage, the crashed "
                    + "one was replaced").contains(workers.get(1)).doesNotContain(crashed);
            assertThat(master.output()).as("its spawn failed for want of descriptors, and was retried")
                    .containsPattern("cannot start: [^\n]*Too many open files");
            assertThat(master.output()).as("the probes the master could not run were told, and not counted")
                    .contains("could not be probed, not counted as a failure")
                    .doesNotContain("failed its liveness probe");
        } finally {
            RawHttp.closeAll(held);
        }
    }

    /** Lowers the open-file limit of the running process {@code pid}, soft and hard, with util-linux's prlimit. */
    private static void lowerOpenFileLimit(long pid, int openFiles) throws IOException, InterruptedException {
        Process prlimit = new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + openFiles + ":" + openFiles)
                .redirectErrorStream(true).start();
        assertThat(prlimit.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(prlimit.exitValue()).as(new String(prlimit.getInputStream().readAllBytes())).isZero();
    }

    /** A connection with {@code bytes} sent on it; none is read. */
    private static Socket open(int port, String bytes) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2_000);
        socket.setSoTimeout(2_000);
        OutputStream out = socket.getOutputStream();
        out.write(bytes.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return socket;
    }
}
