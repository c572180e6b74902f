package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * With {@code fleet.worker.max-concurrency}, a request's body is read before a worker is picked, up to the retry
 * buffer limit (nginx's {@code proxy_request_buffering}): a client that uploads slowly does not hold the worker's
 * only slot meanwhile, and a body larger than the limit still reaches the worker whole.
 */
class SlowUploadIntegrationTests {

    @Test
    void aSlowUploadDoesNotHoldTheOnlySlotWhileItsBodyComes() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.queue-timeout=1s");
             Socket slow = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            slow.setSoTimeout(20_000);
            OutputStream out = slow.getOutputStream();
            out.write(("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();

            for (int i = 0; i < 3; i++) {
                HttpResponse<String> other = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/hello"))
                        .timeout(Duration.ofSeconds(10)).build());
                assertThat(other.statusCode()).as("served while the upload is unfinished: " + other.body())
                        .isEqualTo(200);
            }

            out.write("world".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String answer = readAll(slow.getInputStream());
            assertThat(answer).startsWith("HTTP/1.1 200").contains("method=POST").contains("body=10");
            assertThat(shepherd.context().getBean(ProxyServer.class).readAheadBytes())
                    .as("the body's bytes left the proxy's read-ahead count").isZero();
        }
    }

    @Test
    void aBodyLargerThanTheBufferLimitStillReachesTheWorkerWhole() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.max-concurrency=1", "--fleet.proxy.retry.buffer-limit=16KB")) {
            byte[] body = new byte[300_000];
            HttpResponse<String> response = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/upload"))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).timeout(Duration.ofSeconds(20)).build());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("body=300000");
        }
    }

    private static String readAll(InputStream in) throws java.io.IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        in.transferTo(bytes);
        return bytes.toString(StandardCharsets.ISO_8859_1);
    }
}
