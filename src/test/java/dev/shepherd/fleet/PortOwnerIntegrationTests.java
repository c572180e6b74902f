package dev.shepherd.fleet;

import com.sun.net.httpserver.HttpServer;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

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
                Thread answering = new Thread(() -> answerStolen(thief), "thief");
                answering.setDaemon(true);
                answering.start();

                await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(output.getOut())
                        .contains("Worker " + before.id() + " (pid " + before.pid() + ") is stopped: its port is no longer "
                                + "its own: port " + before.port() + " is listened on by pid " + ProcessHandle.current().pid()
                                + " (java)"));
                await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.readyPids().size() == 1
                        && shepherd.snapshot().workers().get(0).port() != before.port());
                for (int i = 0; i < 5; i++) {
                    assertThat(shepherd.get("/").body()).isEqualTo("mine");
                }
            }
        }
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
