package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyBoolean;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.when;

/**
 * {@link ExchangeEnd}, driven through its {@link Exchange} on Netty's embedded channel while no worker is READY, so
 * that the request waits in the router's queue: each way it ends there leaves the queue, ends the exchange once, and
 * answers (or not) as it should.
 */
class ExchangeEndTests {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final WorkerFleetService fleet = mock(WorkerFleetService.class);
    private final Router router = router();
    private final ProxyContext proxy = new ProxyContext(TunnelTests.properties(Map.of(
            "fleet.proxy.client-max-body-size", "1KB")), router, new RetryBudget(20, 3, System::nanoTime),
            new ProxyMetrics(registry), null, null, null, null, () -> 0, false, null);
    private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final ChannelHandlerContext ctx = channel.pipeline().firstContext();
    private final ClientHandler client = mock(ClientHandler.class);

    ExchangeEndTests() {
        when(client.raw()).thenReturn(ctx);
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    @Test
    void aWholeRequestQueuedForItsFirstWorkerAndChosenToMakeRoomLeavesTheQueueWith503AndKeepsTheConnection() {
        Exchange exchange = exchange(get());
        exchange.start();
        assertThat(router.waiting()).isEqualTo(1);

        exchange.refusedForRoom();

        assertThat(router.waiting()).isZero();
        assertThat(written()).startsWith("HTTP/1.1 503 ");
        verify(client).exchangeDone(exchange, true);
        assertThat(proxy.openExchanges()).isZero();
        assertThat(requests("proxy-error", "5xx")).isEqualTo(1);
    }

    @Test
    void aClientGoneWhileTheRequestWaitsLeavesTheQueueAndEndsTheExchangeOnce() {
        Exchange exchange = exchange(get());
        exchange.start();

        exchange.onClientClosed();
        exchange.onClientClosed();
        exchange.refusedForRoom();

        assertThat(router.waiting()).isZero();
        assertThat(proxy.openExchanges()).isZero();
        assertThat(requests("client-closed", "4xx")).as("nginx's 499, counted once").isEqualTo(1);
        assertThat((Object) channel.readOutbound()).as("nothing answered: the client is gone").isNull();
        verify(client, never()).exchangeDone(any(), anyBoolean());
    }

    @Test
    void aBodyLargerThanTheLimitByItsLengthIs413BeforeItIsReadAndTheConnectionCloses() {
        HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload");
        post.headers().set(HttpHeaderNames.HOST, "x").set(HttpHeaderNames.CONTENT_LENGTH, 2048);
        Exchange exchange = exchange(post);

        exchange.start();

        assertThat(router.waiting()).as("never queued").isZero();
        assertThat(written()).startsWith("HTTP/1.1 413 ");
        verify(client).exchangeDone(exchange, false);
        assertThat(proxy.openExchanges()).isZero();
    }

    private Exchange exchange(HttpRequest request) {
        RequestHead head = RequestHead.prepare(request, new ForwardedHeaders("127.0.0.1", false, "80"), Set.of(),
                new InetSocketAddress("127.0.0.1", 80));
        return new Exchange(proxy, client, ctx, head, -1);
    }

    private static HttpRequest get() {
        HttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        get.headers().set(HttpHeaderNames.HOST, "x");
        return get;
    }

    private Router router() {
        FleetSnapshot snapshot = mock(FleetSnapshot.class);
        when(fleet.snapshot()).thenReturn(snapshot);
        when(snapshot.ready()).thenReturn(new Endpoint[0]);
        return new Router(fleet, 3, Balancer.ROUND_ROBIN);
    }

    /** What was written to the client, as text. */
    private String written() {
        ByteBuf answer = channel.readOutbound();
        try {
            return answer.toString(StandardCharsets.US_ASCII);
        } finally {
            answer.release();
        }
    }

    private double requests(String outcome, String status) {
        return registry.find("shepherd.proxy.requests").tags("outcome", outcome, "status", status).functionTimers()
                .stream().mapToDouble(FunctionTimer::count).sum();
    }
}
