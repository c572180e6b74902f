package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.verify;

/** {@link Tunnel} on Netty's embedded channels: relay, backpressure, going away, idle timeout. */
class TunnelTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final ProxyContext proxy = new ProxyContext(properties(Map.of("fleet.proxy.tunnel.idle-timeout", "10s")),
            null, null, new ProxyMetrics(registry), null, null, null, null, () -> 0, false, null);
    private final EmbeddedChannel client = new EmbeddedChannel();
    private final EmbeddedChannel upstream = new EmbeddedChannel();
    private final Endpoint endpoint = mock(Endpoint.class);
    private final Tunnel tunnel = new Tunnel(proxy, client, upstream, endpoint, true, null);

    static FleetProperties.Proxy properties(Map<String, String> values) {
        return new Binder(new MapConfigurationPropertySource(values)).bindOrCreate("fleet.proxy", FleetProperties.Proxy.class);
    }

    @AfterEach
    void close() {
        client.finishAndReleaseAll();
        upstream.finishAndReleaseAll();
    }

    @Test
    void bytesGoBothWaysUnchangedAndTheTunnelIsCounted() {
        tunnel.open();
        verify(endpoint).tunnelOpened(tunnel);

        tunnel.fromClient(ascii("to the worker"));
        tunnel.clientReadComplete();
        tunnel.onUpstreamMessage(ascii("to the client"));
        tunnel.upstreamReadComplete();

        assertThat(text(upstream.readOutbound())).isEqualTo("to the worker");
        assertThat(text(client.readOutbound())).isEqualTo("to the client");
        assertThat(registry.get("shepherd.proxy.tunnels.opened").counter().count()).isEqualTo(1);
    }

    /** As nginx logs a WebSocket: when it ends, 101, with the bytes the worker sent through it. */
    @Test
    void theAccessLogLineOfATunnelIsWrittenWhenItEndsWithTheBytesTheWorkerSent() {
        List<String> lines = new CopyOnWriteArrayList<>();
        try (AccessLog log = new AccessLog(registry, lines::add, ZoneOffset.UTC)) {
            HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/chat");
            request.headers().set(HttpHeaderNames.HOST, "x").set(HttpHeaderNames.CONNECTION, "upgrade")
                    .set(HttpHeaderNames.UPGRADE, "websocket").set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
            RequestHead head = RequestHead.prepare(request, new ForwardedHeaders("127.0.0.1", false, "80"),
                    Set.of("websocket"), new java.net.InetSocketAddress("127.0.0.1", 80));
            Tunnel logged = new Tunnel(proxy, client, upstream, endpoint, false,
                    log.opened("192.0.2.7", head, System.nanoTime(), 3, 1));
            logged.open();
            logged.onUpstreamMessage(ascii("0123456789"));
            logged.fromClient(ascii("not counted: the client's"));
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(lines::isEmpty);

            logged.clientClosed();
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(lines).singleElement().asString()
                    .startsWith("192.0.2.7 - - [").contains("] \"GET /chat HTTP/1.1\" 101 10 \"-\" \"-\" rt=")
                    .endsWith(" worker=3 attempts=1"));
        }
    }

    @Test
    void aSideThatCannotTakeMoreStopsTheOtherBeingRead() {
        tunnel.open();
        client.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(8, 16));

        tunnel.onUpstreamMessage(ascii("more than sixteen bytes, not flushed"));

        assertThat(client.isWritable()).isFalse();
        assertThat(upstream.config().isAutoRead()).isFalse();
        client.flush();
        tunnel.clientWritabilityChanged(client.isWritable());
        assertThat(upstream.config().isAutoRead()).isTrue();
    }

    @Test
    void goingAwayAtAFrameBoundarySaysCloseGoingAwayThenClosesBothSides() {
        tunnel.open();
        tunnel.onUpstreamMessage(Unpooled.wrappedBuffer(new byte[] {(byte) 0x81, 2, 'h', 'i'}));

        tunnel.goAway(Duration.ZERO);
        client.runPendingTasks();

        client.readOutbound(); // the "hi" frame
        CloseWebSocketFrame close = decodeClose(client.readOutbound(), false);
        assertThat(close.statusCode()).isEqualTo(1001);
        assertThat(close.reasonText()).isEqualTo("worker going away");
        close.release();
        CloseWebSocketFrame toWorker = decodeClose(upstream.readOutbound(), true);
        assertThat(toWorker.statusCode()).isEqualTo(1001);
        toWorker.release();
        assertThat(client.isOpen()).isFalse();
        assertThat(upstream.isOpen()).isFalse();
        verify(endpoint).tunnelClosed(tunnel);
        assertThat(registry.get("shepherd.proxy.tunnels.closed").tag("reason", "going-away").counter().count()).isEqualTo(1);
    }

    @Test
    void goingAwayInTheMiddleOfAFrameOnlyClosesTheConnection() {
        tunnel.open();
        // A frame header that announces 100 bytes, and only 2 of them.
        tunnel.onUpstreamMessage(Unpooled.wrappedBuffer(new byte[] {(byte) 0x82, 100, 1, 2}));

        tunnel.goAway(Duration.ZERO);
        client.runPendingTasks();

        int written = 0;
        for (Object message; (message = client.readOutbound()) != null; ) {
            written += ((ByteBuf) message).readableBytes();
            ((ByteBuf) message).release();
        }
        assertThat(written).as("only the relayed bytes, no close frame").isEqualTo(4);
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void anIdleTunnelIsClosedAtItsDeadline() {
        tunnel.open();

        proxy.tunnelDeadlines().sweep(System.nanoTime() + Duration.ofSeconds(11).toNanos());

        CloseWebSocketFrame close = decodeClose(client.readOutbound(), false);
        assertThat(close.reasonText()).isEqualTo("idle timeout");
        close.release();
        assertThat(client.isOpen()).isFalse();
        assertThat(registry.get("shepherd.proxy.tunnels.closed").tag("reason", "idle").counter().count()).isEqualTo(1);
    }

    @Test
    void eitherSideClosingEndsTheTunnelOnce() {
        tunnel.open();

        tunnel.onUpstreamClosed(null);
        tunnel.clientClosed();

        assertThat(client.isOpen()).isFalse();
        verify(endpoint).tunnelClosed(tunnel);
        assertThat(registry.get("shepherd.proxy.tunnels.closed").tag("reason", "closed").counter().count()).isEqualTo(1);
    }

    @Test
    void aSideThatTakesNothingMoreIsClosedAGraceAfterTheTunnelEnds() {
        // A peer that stopped reading: what is written to it is never taken, so no write ever completes.
        EmbeddedChannel stuck = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ReferenceCountUtil.release(msg);
            }
        });
        Tunnel ending = new Tunnel(proxy, stuck, upstream, endpoint, true, null);
        ending.open();

        ending.goAway(Duration.ZERO);
        stuck.runPendingTasks();
        assertThat(upstream.isOpen()).isFalse();
        assertThat(stuck.isOpen()).as("given the grace to take what was relayed").isTrue();

        stuck.advanceTimeBy(Tunnel.CLOSE_GRACE.toNanos(), TimeUnit.NANOSECONDS);
        stuck.runScheduledPendingTasks();
        assertThat(stuck.isOpen()).isFalse();
        stuck.finishAndReleaseAll();
    }

    private static CloseWebSocketFrame decodeClose(Object bytes, boolean masked) {
        EmbeddedChannel decoder = new EmbeddedChannel(new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
                .expectMaskedFrames(masked).allowMaskMismatch(false).build()));
        decoder.writeInbound(bytes);
        CloseWebSocketFrame frame = decoder.readInbound();
        decoder.finishAndReleaseAll();
        assertThat(frame).as("a close frame").isNotNull();
        return frame;
    }

    private static ByteBuf ascii(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII);
    }

    private static String text(Object bytes) {
        ByteBuf buffer = (ByteBuf) bytes;
        try {
            return buffer.toString(StandardCharsets.US_ASCII);
        } finally {
            buffer.release();
        }
    }
}
