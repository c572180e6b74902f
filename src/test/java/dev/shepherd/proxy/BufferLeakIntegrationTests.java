package dev.shepherd.proxy;

import dev.shepherd.testsupport.BufferLeaks;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.TestCertificates;
import dev.shepherd.testsupport.WebSocketWorker;
import io.netty.util.ResourceLeakDetector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every kind of exchange the proxy relays, cuts or refuses, through a real master with real workers, under Netty's
 * paranoid leak detection (every buffer tracked, not one in 128 as in the rest of the suite): none may leave a
 * buffer unreleased ({@link BufferLeaks}, once the master is closed and its buffers collected). A leaked buffer is
 * direct memory the master never gets back: enough of them and it can no longer read.
 */
class BufferLeakIntegrationTests {

    private static final String CLOSE = "Connection: close\r\n";

    private static ResourceLeakDetector.Level before;

    @BeforeAll
    static void trackEveryBuffer() {
        before = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterAll
    static void sampleAgain() {
        ResourceLeakDetector.setLevel(before);
    }

    @Test
    void exchangesOfEveryKindLeakNoBuffer() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2",
                RunningShepherd.echoWorkerCommand(), "--fleet.proxy.client-max-body-size=300KB",
                "--fleet.proxy.sticky.app-cookie=JSESSIONID", "--fleet.proxy.access-log.enabled=true")) {
            exchanges(() -> new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort()), shepherd);
        }
        BufferLeaks.assertNoneReported("exchanges of every kind");
    }

    @Test
    void streamedBodiesOverTlsLeakNoBuffer(@TempDir Path directory) throws Exception {
        Path keyStore = TestCertificates.selfSignedKeyStore(directory, "proxy");
        SSLContext tls = TestCertificates.trusting(keyStore);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2",
                RunningShepherd.echoWorkerCommand(), "--fleet.proxy.client-max-body-size=300KB",
                "--fleet.proxy.request-buffering=false", "--server.ssl.key-store=" + keyStore,
                "--server.ssl.key-store-password=" + TestCertificates.PASSWORD, "--server.ssl.key-store-type=PKCS12")) {
            exchanges(() -> tls.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), shepherd.proxyPort()),
                    shepherd);
        }
        BufferLeaks.assertNoneReported("streamed bodies over TLS");
    }

    @Test
    void tunnelsLeakNoBuffer() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(WebSocketWorker.class, "-Xmx64m")),
                "--fleet.proxy.upgrade-protocols=websocket,echo-bytes")) {
            for (int i = 0; i < 20; i++) {
                try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
                    socket.setSoTimeout(5_000);
                    OutputStream out = socket.getOutputStream();
                    out.write(ascii("GET /raw HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: echo-bytes\r\n\r\n"
                            + "early bytes "));
                    assertThat(readAtLeast(socket.getInputStream(), "early bytes ")).startsWith("HTTP/1.1 101");
                    out.write(new byte[i * 5_000]);
                    if (i % 2 == 0) {
                        socket.shutdownOutput();
                        readAtLeast(socket.getInputStream(), "bye");
                    }
                }
            }
        }
        BufferLeaks.assertNoneReported("tunnels");
    }

    /**
     * Whole and cut exchanges of each kind, five times over: small and large answers, an answer the client stops
     * reading, bodies by length (in memory and on disk) and in chunks, pipelined requests, refusals (400, 413), a
     * client gone before the answer, a worker that hangs up, and a worker that dies mid-answer.
     */
    private static void exchanges(Callable<Socket> connect, RunningShepherd shepherd) throws Exception {
        for (int round = 0; round < 5; round++) {
            exchange(connect, "GET /login HTTP/1.1\r\nHost: a\r\n" + CLOSE + "\r\n");
            exchange(connect, "GET /bytes?n=1000000 HTTP/1.1\r\nHost: a\r\n" + CLOSE + "\r\n");
            try (Socket socket = connect.call()) {
                socket.getOutputStream().write(ascii("GET /bytes?n=4000000 HTTP/1.1\r\nHost: a\r\n\r\n"));
                socket.getInputStream().read(new byte[1000]);
            }
            exchange(connect, "POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 200000\r\n" + CLOSE + "\r\n"
                    + "b".repeat(200_000));
            exchange(connect, "POST /digest HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" + CLOSE + "\r\n"
                    + "1\r\na\r\n".repeat(2_000) + "4\r\nabcd\r\n0\r\nX-Trailer: t\r\n\r\n");
            exchange(connect, "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n".repeat(10) + "GET /last HTTP/1.1\r\nHost: a\r\n"
                    + CLOSE + "\r\n");
            exchange(connect, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\n");
            exchange(connect, "POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 400000\r\n\r\n" + "c".repeat(400_000));
            cut(connect, "POST /digest HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n"
                    + "d".repeat(30_000));
            cut(connect, "GET /slow?ms=300 HTTP/1.1\r\nHost: a\r\n\r\n"
                    + "POST /digest HTTP/1.1\r\nHost: a\r\nContent-Length: 50000\r\n\r\n" + "e".repeat(20_000));
            cut(connect, "GET /bytes?n=2000 HTTP/1.1\r\nHost: a\r\nX-Cut: " + "f".repeat(5_000));
            exchange(connect, "GET /hang-up HTTP/1.1\r\nHost: a\r\n" + CLOSE + "\r\n");
        }
        // A worker dying mid-answer, once per worker: the others' restarts would take longer than the rest.
        for (long pid : shepherd.readyPids()) {
            exchange(connect, "GET /die-after-head?pid=" + pid + " HTTP/1.1\r\nHost: a\r\n" + CLOSE + "\r\n");
        }
    }

    /** Sends {@code request}, a part of one or a whole one followed by a part, and closes at once. */
    private static void cut(Callable<Socket> connect, String request) throws Exception {
        try (Socket socket = connect.call()) {
            socket.getOutputStream().write(ascii(request));
            socket.getOutputStream().flush();
        }
    }

    /** Sends {@code request} and reads until the proxy closes or 5 s pass without a byte. */
    private static void exchange(Callable<Socket> connect, String request) throws Exception {
        try (Socket socket = connect.call()) {
            socket.setSoTimeout(5_000);
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[65_536];
            try {
                socket.getOutputStream().write(ascii(request));
                while (in.read(buffer) >= 0) {
                    // read on: the answer's bytes go through every buffer the proxy has
                }
            } catch (SocketTimeoutException | SocketException ended) {
                // a refusal closes with bytes unread, a TLS peer may reset: the buffers are what this test is about
            }
        }
    }

    private static String readAtLeast(InputStream in, String end) throws IOException {
        StringBuilder received = new StringBuilder();
        byte[] buffer = new byte[8192];
        int read;
        while (!received.toString().contains(end) && (read = in.read(buffer)) >= 0) {
            received.append(new String(buffer, 0, read, StandardCharsets.ISO_8859_1));
        }
        return received.toString();
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }
}
