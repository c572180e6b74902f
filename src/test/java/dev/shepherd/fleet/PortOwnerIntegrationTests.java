package dev.shepherd.fleet;

import com.sun.net.httpserver.HttpServer;
import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.FreePorts;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A process outside a worker's tree that binds the worker's port before it does (an attacking helper's hostile
 * worker read it from /proc) answers the readiness probe, but the worker is not made READY on it; once the port is
 * the worker's own again, it is.
 */
@EnabledOnOs(OS.LINUX)
@ExtendWith(OutputCaptureExtension.class)
class PortOwnerIntegrationTests {

    /** A Python worker's imports and its handler H, which answers "mine" to every GET. */
    private static final String ANSWERS_MINE = "import time, os, socket, http.server\n"
            + "class H(http.server.BaseHTTPRequestHandler):\n"
            + "    def do_GET(self):\n"
            + "        self.send_response(200); self.send_header('Content-Length', '4'); self.end_headers()\n"
            + "        self.wfile.write(b'mine')\n"
            + "    def log_message(self, *args): pass\n";

    /**
     * Binds its port only after 15 s, so that the test can take it first even when the master's start, after the
     * worker's, is slow; a bind that fails ends it.
     */
    private static final String LATE_BINDER = ANSWERS_MINE
            + "time.sleep(15)\n"
            + "http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n";

    @Test
    void aWorkerWhosePortAnotherProcessTookIsNotMadeReadyOnItsAnswers(CapturedOutput output) throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command[0]=python3", "--fleet.worker.command[1]=-c",
                "--fleet.worker.command[2]=" + LATE_BINDER, "--fleet.liveness.path=",
                "--fleet.restart.initial-backoff=100ms")) {
            await().atMost(Duration.ofSeconds(20)).until(() -> !shepherd.snapshot().workers().isEmpty()
                    && shepherd.snapshot().workers().get(0).port() > 0);
            int port = shepherd.snapshot().workers().get(0).port();
            HttpServer thief = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
            thief.createContext("/", exchange -> {
                byte[] body = "stolen".getBytes(StandardCharsets.US_ASCII);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
                exchange.close();
            });
            thief.start();
            try {
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(output.getOut())
                        .contains("is not READY: port " + port + " is listened on by pid " + ProcessHandle.current().pid()
                                + " (java), not by a process of worker 1: another process took it"));
                assertThat(shepherd.snapshot().workers()).noneMatch(worker -> worker.port() == port
                        && worker.state() == WorkerState.READY);
                assertThat(shepherd.get("/").body()).doesNotContain("stolen");
            } finally {
                thief.stop(0);
            }
            // Its port its own again (a restart's new one, the first having been taken when it bound): READY.
            shepherd.awaitReady(1);
            assertThat(shepherd.get("/").body()).isEqualTo("mine");
        }
    }

    /**
     * Found by a new user's attack: a worker that listens on a port of its own (an app's listen(3000)) was killed at
     * its startup timeout said only to refuse connections. The reason says where it listens.
     */
    @Test
    void aWorkerListeningOnAPortOfItsOwnIsToldSoAtItsStartupTimeout(CapturedOutput output) {
        int own = FreePorts.unassigned();
        List<String> command = new ArrayList<>(List.of("env", "PORT=" + own));
        command.addAll(RunningShepherd.javaCommand(EchoWorker.class));
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", command), "--fleet.worker.startup-timeout=4s")) {
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(output.getOut())
                    .containsPattern("not READY within 4000 ms \\(last readiness probe: GET /health failed: [^)]+\\); "
                            + "its processes listen on " + own + ", not on its PORT \\d+: a worker must listen on the "
                            + "port Shepherd gives it in the PORT variable"));
        }
    }

    /** Binds its port at once with SO_REUSEPORT, as gunicorn's --reuse-port does, which lets others join it. */
    private static final String SHARING = ANSWERS_MINE
            + "class S(http.server.HTTPServer):\n"
            + "    def server_bind(self):\n"
            + "        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)\n"
            + "        super().server_bind()\n"
            + "S(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()\n";

    /**
     * Found by an attacking helper: a process joining a READY worker's port with SO_REUSEPORT got connections the
     * kernel gave it. The liveness round looks, and the worker is replaced on a port of its own.
     */
    @Test
    void aProcessThatJoinsAReadyWorkersPortGetsTheWorkerReplacedOnAnotherPort(CapturedOutput output) throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command[0]=python3", "--fleet.worker.command[1]=-c", "--fleet.worker.command[2]=" + SHARING,
                "--fleet.liveness.interval=100ms")) {
            WorkerSnapshot before = shepherd.snapshot().workers().get(0);
            try (ServerSocketChannel thief = ServerSocketChannel.open()) {
                thief.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                thief.bind(new InetSocketAddress("127.0.0.1", before.port()));
                assertReplacedOnAnotherPort(shepherd, output, before, thief);
                for (int i = 0; i < 5; i++) {
                    assertThat(shepherd.get("/").body()).isEqualTo("mine");
                }
            }
        }
    }

    /** Lets go of its port on {@code GET /let-go}, after answering it, and stays up without one. */
    private static final String LETTING_GO = ANSWERS_MINE
            + "import threading\n"
            + "class L(H):\n"
            + "    def do_GET(self):\n"
            + "        H.do_GET(self)\n"
            + "        if self.path == '/let-go':\n"
            + "            threading.Thread(target=lambda: (server.shutdown(), server.server_close())).start()\n"
            + "server = http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), L)\n"
            + "server.serve_forever()\n"
            + "time.sleep(3600)\n";

    /**
     * Found by an attacking helper: a worker that lets go of its port for a while (an in-process restart of its
     * server) can have it taken by any user's listener on {@code [::]}, which takes IPv4 connections too. That one
     * is not taken for an {@code IPV6_V6ONLY} one beside an IPv4 listener of the worker's (which 127.0.0.1 could not
     * reach): with none of the worker's there, the liveness round stops the worker.
     */
    @Test
    void aListenerOnIpv6sAnyAddressThatTookALetGoPortGetsTheWorkerReplaced(CapturedOutput output) throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command[0]=python3", "--fleet.worker.command[1]=-c",
                "--fleet.worker.command[2]=" + LETTING_GO, "--fleet.liveness.interval=100ms",
                // Its probes fail until the test's listener is there: they alone must not stop the worker.
                "--fleet.liveness.failure-threshold=100")) {
            WorkerSnapshot before = shepherd.snapshot().workers().get(0);
            try (ServerSocketChannel thief = ServerSocketChannel.open()) {
                thief.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                HttpRequest letGo = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + before.port() + "/let-go")).build();
                assertThat(HttpClient.newHttpClient().send(letGo, HttpResponse.BodyHandlers.ofString()).body()).isEqualTo("mine");
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() ->
                        thief.bind(new InetSocketAddress(InetAddress.getByName("::"), before.port())));
                assertReplacedOnAnotherPort(shepherd, output, before, thief);
                assertThat(shepherd.get("/").body()).isEqualTo("mine");
            }
        }
    }

    /**
     * Answers on {@code thief} (bound on {@code before}'s port) until the liveness round stops {@code before} for it
     * and a worker is READY on another port. The line names the test's JVM as the holder, or, as one full verify
     * had it for the {@code [::]} listener (not explained yet), "a process this master cannot see".
     */
    private static void assertReplacedOnAnotherPort(RunningShepherd shepherd, CapturedOutput output, WorkerSnapshot before,
                                                    ServerSocketChannel thief) {
        Thread answering = new Thread(() -> answerStolen(thief), "thief");
        answering.setDaemon(true);
        answering.start();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(output.getOut())
                .containsPattern(java.util.regex.Pattern.quote("Worker " + before.id() + " (pid " + before.pid()
                        + ") is stopped: its port is no longer its own: port " + before.port() + " is listened on by ")
                        + "(" + java.util.regex.Pattern.quote("pid " + ProcessHandle.current().pid() + " (java)")
                        + "|a process this master cannot see)"));
        await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.readyPids().size() == 1
                && shepherd.snapshot().workers().get(0).port() != before.port());
    }

    private static void answerStolen(ServerSocketChannel thief) {
        try {
            while (true) {
                try (SocketChannel client = thief.accept()) {
                    client.read(ByteBuffer.allocate(4096));
                    client.write(ByteBuffer.wrap("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nstolen"
                            .getBytes(StandardCharsets.US_ASCII)));
                }
            }
        } catch (java.io.IOException closed) {
            // The test is over.
        }
    }
}
