package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A client connection and a worker connection joined after the worker answered {@code 101 Switching Protocols}:
 * bytes go both ways unchanged, with backpressure (a side that cannot take more stops the other side being read,
 * so memory stays within the channels' write buffers), and a half-close is passed on (a FIN from one side shuts
 * the other's output; the tunnel closes when both directions have ended, or when either side closes).
 *
 * <p>It counts in no request timeout: only the tunnel idle timeout ({@code fleet.proxy.tunnel.idle-timeout}, no
 * byte either way) ends it, or the fleet ({@link #goAway}: its worker drains or died). A WebSocket ended by the
 * proxy gets a {@code 1001 Going Away} close frame in each direction where the relay is at a frame boundary
 * ({@link WebSocketFrames}), then a TCP close once what was relayed has been written (at most {@link #CLOSE_GRACE}
 * later). Nothing is ever retried after the {@code 101}.
 *
 * <p>Both channels are on the same event loop; everything but {@link #goAway} runs there.
 */
final class Tunnel implements UpstreamListener, Endpoint.Tunnel {

    /**
     * How long a side may take to read what was relayed to it before the tunnel ended (and the close frame): a peer
     * that reads nothing more (a client that stopped reading, a stuck worker) is closed regardless after this, or
     * it would hold its connection, and what waits to be written to it, with no clock left to end them.
     */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

    /** Why a tunnel ended, as the metrics tag it. */
    enum End { CLOSED, IDLE, GOING_AWAY }

    private final ProxyContext proxy;
    private final Channel client;
    private final Channel upstream;
    private final Endpoint endpoint;
    /** Frames towards the client and towards the worker; null when the protocol is not WebSocket. */
    private final WebSocketFrames toClient;
    private final WebSocketFrames toWorker;
    private final ResponseDeadlines.Entry idle = new ResponseDeadlines.Entry(() -> end(End.IDLE));
    /** One side has shut its output: the idle clock is {@code fleet.proxy.tunnel.half-closed-timeout} at most. */
    private boolean halfClosed;
    private boolean clientInputDone;
    private boolean upstreamInputDone;
    private boolean closed;
    private ScheduledFuture<?> goingAway;
    private long goingAwayAt;
    private final AccessLog.Opened line;
    /** Bytes from the worker passed on to the client, for the access log. */
    private long bytesToClient;

    /**
     * {@code line}: the access log's line of the request that opened the tunnel, logged when it ends with the bytes
     * the worker sent through it; null when the access log is off.
     */
    Tunnel(ProxyContext proxy, Channel client, Channel upstream, Endpoint endpoint, boolean websocket,
           AccessLog.Opened line) {
        this.line = line;
        this.proxy = proxy;
        this.client = client;
        this.upstream = upstream;
        this.endpoint = endpoint;
        this.toClient = websocket ? new WebSocketFrames() : null;
        this.toWorker = websocket ? new WebSocketFrames() : null;
    }

    /** Counts the tunnel in and starts its idle clock; both sides are read from now on. */
    void open() {
        // Bytes go to the worker as they are from now on: no request encoder on the way.
        if (upstream.pipeline().get(HttpRequestEncoder.class) != null) {
            upstream.pipeline().remove(HttpRequestEncoder.class);
        }
        proxy.metrics().tunnelOpened();
        endpoint.tunnelOpened(this);
        touch();
        upstream.config().setAutoRead(true);
        client.config().setAutoRead(true);
    }

    /** Bytes from the client. */
    void fromClient(Object message) {
        if (closed || !(message instanceof ByteBuf bytes)) {
            ReferenceCountUtil.release(message);
            return;
        }
        if (toWorker != null) {
            toWorker.track(bytes);
        }
        upstream.write(bytes, upstream.voidPromise());
        if (!upstream.isWritable()) {
            client.config().setAutoRead(false);
        }
    }

    void clientReadComplete() {
        if (!closed) {
            upstream.flush();
            touch();
        }
    }

    @Override
    public void onUpstreamMessage(Object message) {
        if (closed || !(message instanceof ByteBuf bytes)) {
            ReferenceCountUtil.release(message);
            return;
        }
        if (toClient != null) {
            toClient.track(bytes);
        }
        bytesToClient += bytes.readableBytes();
        client.write(bytes, client.voidPromise());
        if (!client.isWritable()) {
            upstream.config().setAutoRead(false);
        }
    }

    @Override
    public void upstreamReadComplete() {
        if (!closed) {
            client.flush();
            touch();
        }
    }

    void clientWritabilityChanged(boolean writable) {
        if (!closed) {
            upstream.config().setAutoRead(writable);
            if (writable) {
                // A slow reader took what was waiting for it: bytes moved, so the tunnel is not idle.
                touch();
            }
        }
    }

    @Override
    public void upstreamWritabilityChanged(boolean writable) {
        if (!closed) {
            client.config().setAutoRead(writable);
            if (writable) {
                touch();
            }
        }
    }

    /** The client sent its FIN: the worker's output is shut once what came before is written. */
    void clientInputShutdown() {
        clientInputDone = true;
        halfClose(upstream, upstreamInputDone);
    }

    @Override
    public boolean upstreamInputShutdown() {
        upstreamInputDone = true;
        halfClose(client, clientInputDone);
        return true;
    }

    private void halfClose(Channel other, boolean otherInputDone) {
        if (closed) {
            return;
        }
        if (otherInputDone || !(other instanceof DuplexChannel duplex)) {
            end(End.CLOSED);
            return;
        }
        other.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                .addListener(future -> duplex.shutdownOutput());
        halfClosed = true;
        touch();
    }

    void clientClosed() {
        end(End.CLOSED);
    }

    @Override
    public void onUpstreamClosed(Throwable cause) {
        end(End.CLOSED);
    }

    /** See {@link Endpoint.Tunnel#goAway}: any thread. */
    @Override
    public void goAway(Duration spread) {
        // Within the first 90 % of the window: a close drawn at its very end could run after the supervisor, which
        // stops the worker at the window's end, and the client would get a bare close instead of 1001.
        long window = spread.toNanos() / 10 * 9;
        long delayNanos = window <= 0 ? 0 : ThreadLocalRandom.current().nextLong(window);
        client.eventLoop().execute(() -> scheduleGoingAway(delayNanos));
    }

    private void scheduleGoingAway(long delayNanos) {
        long at = System.nanoTime() + delayNanos;
        if (closed || goingAway != null && at - goingAwayAt >= 0) {
            return;
        }
        if (goingAway != null) {
            goingAway.cancel(false);
        }
        goingAwayAt = at;
        goingAway = client.eventLoop().schedule(() -> end(End.GOING_AWAY), delayNanos, TimeUnit.NANOSECONDS);
    }

    private void touch() {
        long timeout = proxy.tunnelIdleTimeoutNanos();
        if (halfClosed) {
            timeout = timeout == 0 ? proxy.tunnelHalfClosedTimeoutNanos()
                    : Math.min(timeout, proxy.tunnelHalfClosedTimeoutNanos());
        }
        if (timeout > 0 && !closed) {
            proxy.tunnelDeadlines().add(idle, System.nanoTime() + timeout);
        }
    }

    /** Ends the tunnel once: both connections closed, after a WebSocket close frame each way where one fits. */
    private void end(End why) {
        if (closed) {
            return;
        }
        closed = true;
        proxy.tunnelDeadlines().remove(idle);
        if (goingAway != null) {
            goingAway.cancel(false);
        }
        endpoint.tunnelClosed(this);
        proxy.metrics().tunnelClosed(why);
        if (line != null) {
            line.ended(bytesToClient);
        }
        if (why != End.CLOSED && toClient != null) {
            String reason = why == End.IDLE ? "idle timeout" : "worker going away";
            sayGoingAway(client, toClient, reason, false);
            sayGoingAway(upstream, toWorker, reason, true);
        }
        closeWhenWritten(client);
        closeWhenWritten(upstream);
    }

    /** Closes {@code channel} once what was written to it is flushed, or after {@link #CLOSE_GRACE} at the latest. */
    private static void closeWhenWritten(Channel channel) {
        ChannelFuture written = channel.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER);
        if (written.isDone()) {
            channel.close();
            return;
        }
        ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> {
            channel.close();
        }, CLOSE_GRACE.toNanos(), TimeUnit.NANOSECONDS);
        written.addListener(future -> {
            deadline.cancel(false);
            channel.close();
        });
    }

    private static void sayGoingAway(Channel channel, WebSocketFrames frames, String reason, boolean masked) {
        if (channel.isActive() && frames.atBoundary()) {
            channel.write(WebSocketFrames.goingAway(channel.alloc(), reason, masked), channel.voidPromise());
        }
    }
}
