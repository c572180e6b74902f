package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

/**
 * {@link Attempts} with no worker READY, on Netty's embedded channel: the request waits in the router's queue and
 * leaves it when told; the body it holds with no worker connection counts proxy-wide until given back, once, and
 * past the proxy's bound it is refused rather than queued.
 */
class AttemptsTests {

    private final WorkerFleetService fleet = mock(WorkerFleetService.class);
    private final Router router = router();
    private final ProxyContext proxy = new ProxyContext(TunnelTests.properties(Map.of()), router, null,
            new ProxyMetrics(new SimpleMeterRegistry()), null, null, null, null, () -> 0, false, null);
    private final EmbeddedChannel channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
    private final FakeExchange exchange = new FakeExchange();
    private final Attempts attempts = attempts();

    @AfterEach
    void close() {
        attempts.stopWaiting();
        attempts.releaseWaitingBytes();
        channel.finishAndReleaseAll();
    }

    @Test
    void aRequestWithNoWorkerReadyWaitsInTheQueueForItsFirstAndLeavesItWhenTold() {
        attempts.route();

        assertThat(router.waiting()).isEqualTo(1);
        assertThat(attempts.waitingForFirst()).isTrue();
        assertThat(attempts.current()).isNull();
        assertThat(attempts.count()).isZero();

        attempts.stopWaiting();

        assertThat(router.waiting()).isZero();
        assertThat(attempts.waitingForFirst()).isFalse();
        assertThat(exchange.calls).isEmpty();
    }

    @Test
    void aFinishedExchangeIsNotQueued() {
        exchange.finished = true;

        attempts.route();

        assertThat(router.waiting()).isZero();
        assertThat(attempts.waitingForFirst()).isFalse();
    }

    @Test
    void bodyBytesHeldWithNoWorkerConnectionCountProxyWideUntilGivenBackOnce() {
        assertThat(attempts.holdWaiting(1000)).isTrue();
        attempts.heldWaiting(500);
        proxy.holdWaitingBody(500);
        assertThat(proxy.waitingBodyBytes()).isEqualTo(1500);

        attempts.releaseWaitingBytes();
        attempts.releaseWaitingBytes();

        assertThat(proxy.waitingBodyBytes()).isZero();
    }

    @Test
    void aRequestWhoseBodyWouldPassTheProxysBoundWhileItWaitsIsRefusedNotQueued() {
        assertThat(attempts.holdWaiting((int) ProxyContext.WAITING_BODIES_LIMIT + 1))
                .as("past the bound with no attempt under way: to be refused").isFalse();

        attempts.route();

        assertThat(exchange.calls).containsExactly("refuseBodyWaiting");
        assertThat(router.waiting()).isZero();
    }

    private Router router() {
        FleetSnapshot snapshot = mock(FleetSnapshot.class);
        when(fleet.snapshot()).thenReturn(snapshot);
        when(snapshot.ready()).thenReturn(new Endpoint[0]);
        return new Router(fleet, 3, Balancer.ROUND_ROBIN);
    }

    private Attempts attempts() {
        DefaultFullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        request.headers().set(HttpHeaderNames.HOST, "x");
        RequestHead head = RequestHead.prepare(request, new ForwardedHeaders("127.0.0.1", false, "80"), Set.of(),
                new InetSocketAddress("127.0.0.1", 80));
        ChannelHandlerContext ctx = channel.pipeline().firstContext();
        ClientHandler client = mock(ClientHandler.class);
        return new Attempts(proxy, exchange, client, ctx, head, new RequestBody(proxy.bufferLimit()),
                new ResponseRelay(ctx, head), new StickyBinding(proxy, head));
    }

    /** The exchange's side, recording what it is told. */
    private static final class FakeExchange implements Attempts.Owner {

        final List<String> calls = new CopyOnWriteArrayList<>();
        boolean finished;

        @Override
        public boolean finished() {
            return finished;
        }

        @Override
        public boolean requestComplete() {
            return true;
        }

        @Override
        public void cancelTimers() {
            calls.add("cancelTimers");
        }

        @Override
        public void cut(Endpoint failed, Failure failure, Throwable cause) {
            calls.add("cut");
        }

        @Override
        public void fail(HttpResponseStatus status, String reason) {
            calls.add("fail " + status.code() + ": " + reason);
        }

        @Override
        public void refuseBodyWaiting() {
            calls.add("refuseBodyWaiting");
        }

        @Override
        public void bodyUnreadable(UncheckedIOException cause) {
            calls.add("bodyUnreadable");
        }

        @Override
        public void onUpstreamMessage(Object message) {
        }

        @Override
        public void upstreamReadComplete() {
        }

        @Override
        public void onUpstreamClosed(Throwable cause) {
        }

        @Override
        public void upstreamWritabilityChanged(boolean writable) {
        }
    }
}
