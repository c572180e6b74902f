package dev.shepherd.demo;

import dev.shepherd.testsupport.FreePorts;
import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The demo worker keeps every kept-alive connection it does not announce closing: the JDK's HttpServer closes one right
 * after answering, without {@code Connection: close}, past 200 idle connections or after a request body of more than
 * 64 KB left unread, and a POST the proxy sent on it meanwhile got a 502 (found by attack). Talks to the worker
 * process directly.
 */
class DemoWorkerIntegrationTests {

    private static Process worker;
    private static int port;

    @BeforeAll
    static void start() throws IOException {
        port = FreePorts.unassigned();
        ProcessBuilder builder = new ProcessBuilder(RunningShepherd.javaCommand(DemoWorker.class))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().put("PORT", Integer.toString(port));
        builder.environment().put("SHEPHERD_DEMO_WORK", "1000");
        worker = builder.start();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> {
            try (Socket socket = connect()) {
                return exchange(socket, "GET", "/health", 0).startsWith("HTTP/1.1 200");
            }
        });
    }

    @AfterAll
    static void stop() throws InterruptedException {
        worker.destroyForcibly().waitFor();
    }

    @Test
    void keepsMoreThan200IdleConnectionsOpen() throws IOException {
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 300; i++) {
                Socket socket = connect();
                sockets.add(socket);
                assertThat(exchange(socket, "GET", "/health", 0)).startsWith("HTTP/1.1 200");
            }
            for (Socket socket : sockets) {
                assertThat(exchange(socket, "GET", "/", 0)).as("a second request on an idle connection")
                        .startsWith("HTTP/1.1 200");
            }
        } finally {
            for (Socket socket : sockets) {
                socket.close();
            }
        }
    }

    @Test
    void readsAHealthChecksBodySoItsConnectionStaysOpen() throws IOException {
        try (Socket socket = connect()) {
            assertThat(exchange(socket, "POST", "/health", 200_000)).startsWith("HTTP/1.1 200");
            assertThat(exchange(socket, "POST", "/health", 200_000)).startsWith("HTTP/1.1 200");
        }
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** Sends a request with a body of {@code bodyBytes} and reads the whole response; the head is returned. */
    private static String exchange(Socket socket, String method, String path, int bodyBytes) throws IOException {
        byte[] body = new byte[bodyBytes];
        socket.getOutputStream().write((method + " " + path + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + bodyBytes
                + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(body);
        InputStream in = socket.getInputStream();
        String head = RawHttp.readHead(in);
        assertThat(head).as("the connection ended before a response head").endsWith("\r\n\r\n");
        int length = Integer.parseInt(head.replaceAll("(?is).*content-length: *(\\d+).*", "$1"));
        assertThat(in.readNBytes(length)).hasSize(length);
        return head;
    }
}
