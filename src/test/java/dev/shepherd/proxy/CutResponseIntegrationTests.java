package dev.shepherd.proxy;

import dev.shepherd.fleet.ProxyTransport;
import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * A response the worker ends early reaches the client ended early too (RFC 9112 §8): never with a last chunk or
 * padding that would make it look whole, and always with the connection closed; reset where the client's body is
 * framed by the close, since a close would read as its end. On every transport, because each reports a worker's
 * reset its own way (io_uring lost one that came with the last bytes: see {@link ProxyServer#IO_URING_MULTISHOT_POLL}).
 * The worker ({@link FaultyWorker}) and the clients are raw sockets.
 */
@ParameterizedClass
@EnumSource(value = ProxyTransport.class, names = {"IO_URING", "EPOLL", "NIO"})
class CutResponseIntegrationTests {

    private static final int BYTES = 10 * 1024;
    private static final String DATA = "x".repeat(BYTES);
    private static final int WAIT_MILLIS = 5_000;

    private static RunningShepherd shepherd;

    @BeforeParameterizedClassInvocation
    static void start(ProxyTransport transport) throws IllegalAccessException {
        // ProxyServer sets how Netty polls on io_uring (see IO_URING_MULTISHOT_POLL) before Netty first reads it.
        MethodHandles.lookup().ensureInitialized(ProxyServer.class);
        assumeThat(transport != ProxyTransport.IO_URING || IoUring.isAvailable())
                .as("io_uring cannot be used here: " + IoUring.unavailabilityCause()).isTrue();
        assumeThat(transport != ProxyTransport.EPOLL || Epoll.isAvailable())
                .as("epoll cannot be used here: " + Epoll.unavailabilityCause()).isTrue();
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)),
                "--fleet.proxy.transport=" + transport.name().toLowerCase().replace('_', '-'),
                // Uploads stream, so that the worker can answer one before it has all of it.
                "--fleet.proxy.request-buffering=false", "--fleet.proxy.client-max-body-size=0");
    }

    CutResponseIntegrationTests(ProxyTransport transport) {
        assertThat(shepherd.proxyTransport()).isEqualTo(transport.name().toLowerCase());
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        if (shepherd != null) {
            shepherd.close();
            shepherd = null;
        }
    }

    /**
     * A worker that answers an upload before reading it (413 here) gets its answer to the client: the proxy sends it,
     * then its FIN, and drops what the client still sends (RFC 9112 §9.6, nginx's lingering close). Closed at once
     * with the client's bytes unread, the socket was reset, and the reset wiped the answer from the client's buffer
     * before it read it (curl got no answer in 3-9 of 20 uploads).
     */
    @Test
    void anAnswerBeforeTheUploadEndsReachesTheClientAndTheCloseWaitsForIt() throws Exception {
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), shepherd.proxyPort())) {
            client.setSoTimeout(WAIT_MILLIS);
            OutputStream out = client.getOutputStream();
            out.write("POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 20000000\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            Thread uploader = new Thread(() -> {
                byte[] chunk = new byte[64 * 1024];
                try {
                    for (int i = 0; i < 32; i++) { // 2 MB: more than the kernel's buffers hold unread
                        out.write(chunk);
                    }
                } catch (IOException closed) {
                    // the proxy stopped reading or closed: what this test looks at is the answer
                }
            }, "uploader");
            uploader.setDaemon(true);
            uploader.start();
            uploader.join(1_500); // the answer and any close of the proxy's happen meanwhile, unread by the client

            InputStream in = client.getInputStream();
            String answer = new String(in.readNBytes(
                    "HTTP/1.1 413 Content Too Large\r\n".length()), StandardCharsets.US_ASCII);
            assertThat(answer).isEqualTo("HTTP/1.1 413 Content Too Large\r\n");
            String rest = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(rest).endsWith("\r\n\r\ntoo big\n");
        }
    }

    @Test
    void bodyFramedByTheCloseThatTheWorkerResetsReachesAnHttp11ClientWithoutItsLastChunk() {
        RawClient.Received received = get11("/cut?framing=close&end=reset&bytes=" + BYTES);

        assertThat(received.head())
                .isEqualTo("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n");
        RawClient.Dechunked body = RawClient.dechunk(received.body());
        assertThat(body.data()).isEqualTo(DATA);
        assertThat(body.rest()).as("after the last whole chunk").isEmpty();
        assertThat(received.end()).isEqualTo(RawClient.End.FIN);
    }

    @Test
    void bodyFramedByTheCloseThatTheWorkerResetsIsResetForAnHttp10Client() {
        RawClient.Received received = get10("/cut?framing=close&end=reset&bytes=" + BYTES);

        assertThat(received.head()).isEqualTo("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nconnection: close\r\n\r\n");
        assertThat(received.body()).isEqualTo(DATA);
        assertThat(received.end()).as("a plain close would read as the end of the body").isEqualTo(RawClient.End.RESET);
    }

    @Test
    void bodyFramedByTheCloseThatTheWorkerEndsCleanlyIsWhole() {
        RawClient.Received http11 = RawClient.exchange(shepherd.proxyPort(), "GET /cut?framing=close&end=fin&bytes=" + BYTES
                + " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", WAIT_MILLIS);
        RawClient.Received http10 = get10("/cut?framing=close&end=fin&bytes=" + BYTES);

        RawClient.Dechunked body = RawClient.dechunk(http11.body());
        assertThat(body.data()).isEqualTo(DATA);
        assertThat(body.rest()).isEqualTo("0\r\n\r\n");
        assertThat(http11.end()).isEqualTo(RawClient.End.FIN);
        assertThat(http10.body()).isEqualTo(DATA);
        assertThat(http10.end()).isEqualTo(RawClient.End.FIN);
    }

    @Test
    void fixedLengthBodyCutShortByACloseOrAResetIsCutShortForTheClient() {
        double cutBefore = cutRequests();
        for (String end : new String[] {"fin", "reset"}) {
            String path = "/cut?framing=fixed&end=" + end + "&bytes=" + BYTES;
            RawClient.Received http11 = get11(path);
            RawClient.Received http10 = get10(path);

            assertThat(http11.head()).as(end).isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: " + (BYTES + 100) + "\r\n\r\n");
            assertThat(http11.body()).as(end).isEqualTo(DATA);
            assertThat(http11.end()).as(end).isEqualTo(RawClient.End.FIN);
            assertThat(http10.head()).as(end)
                    .isEqualTo("HTTP/1.1 200 OK\r\nContent-Length: " + (BYTES + 100) + "\r\nconnection: close\r\n\r\n");
            assertThat(http10.body()).as(end).isEqualTo(DATA);
            assertThat(http10.end()).as(end).isEqualTo(RawClient.End.FIN);
        }
        // Counted, as the status they began with, and as failures in the fleet's traffic (found by a new user's
        // attack: 300 cut responses were counted nowhere).
        await().atMost(Duration.ofSeconds(10)).until(() -> cutRequests() - cutBefore == 4);
    }

    /** {@code shepherd_proxy_requests_seconds_count{outcome="cut",status="2xx"}}, over every method. */
    private static double cutRequests() {
        return shepherd.context().getBean(MeterRegistry.class).find("shepherd.proxy.requests")
                .tags("outcome", "cut", "status", "2xx").functionTimers().stream().mapToDouble(FunctionTimer::count).sum();
    }

    @Test
    void chunkedBodyWithoutItsLastChunkReachesTheClientWithoutOne() {
        for (String end : new String[] {"fin", "reset"}) {
            String path = "/cut?framing=chunked&end=" + end + "&bytes=" + BYTES;
            RawClient.Received http11 = get11(path);
            RawClient.Received http10 = get10(path);

            assertThat(http11.bytes()).as(end).isEqualTo("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                    + Integer.toHexString(BYTES) + "\r\n" + DATA + "\r\n");
            assertThat(http11.end()).as(end).isEqualTo(RawClient.End.FIN);
            assertThat(http10.bytes()).as(end).isEqualTo("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + DATA);
            assertThat(http10.end()).as(end).isEqualTo(RawClient.End.RESET);
        }
    }

    private static RawClient.Received get11(String path) {
        return RawClient.exchange(shepherd.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n", WAIT_MILLIS);
    }

    private static RawClient.Received get10(String path) {
        return RawClient.exchange(shepherd.proxyPort(), "GET " + path + " HTTP/1.0\r\n\r\n", WAIT_MILLIS);
    }
}
