package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A single-threaded worker that speaks HTTP/1.1 keep-alive (Python's {@code http.server} with
 * {@code protocol_version = "HTTP/1.1"}) serves one connection to its end before it accepts the next: a connection the
 * proxy kept idle in one event loop's pool, or reserved for the client that posted on it, stalled every request that
 * came on another until {@code upstream-idle-timeout}, and the worker's liveness probes with it (found by an attacking
 * helper). With {@code fleet.worker.max-concurrency=1} the proxy keeps no connection to a worker idle.
 */
class SingleConnectionWorkerIntegrationTests {

    static final String WORKER = """
            import os
            from http.server import HTTPServer, BaseHTTPRequestHandler

            class Handler(BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"

                def do_GET(self):
                    self.answer()

                def do_POST(self):
                    self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    self.answer()

                def answer(self):
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

                def log_message(self, *args):
                    pass

            HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
            """;

    @TempDir
    Path temp;

    @Test
    void requestsOnEveryEventLoopReachAWorkerThatServesOneConnectionAtATime() throws Exception {
        Path script = Files.writeString(temp.resolve("worker.py"), WORKER);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=python3," + script, "--fleet.worker.max-concurrency=1",
                "--fleet.proxy.event-loops=2", "--fleet.proxy.upstream-idle-timeout=60s")) {
            // A connection each, so that they take turns on the two loops; POSTs leave a connection reserved for
            // their client. Each gets 10 s (RawHttp.exchange): a stall lasts the 60 s of the idle timeout.
            for (int i = 0; i < 8; i++) {
                String request = i % 3 == 2
                        ? "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
                        : "GET /g HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
                assertThat(RawHttp.exchange(shepherd.proxyPort(), request)).as("request %d", i)
                        .startsWith("HTTP/1.1 200").endsWith("ok");
                // As a probe does, straight to the worker: nothing of the proxy's holds it.
                assertThat(RawHttp.exchange(shepherd.snapshot().workers().get(0).port(),
                        "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")).as("direct, after request %d", i)
                        .startsWith("HTTP/1.1 200").endsWith("ok");
            }
        }
    }
}
