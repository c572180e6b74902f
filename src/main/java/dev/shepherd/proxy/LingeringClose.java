package dev.shepherd.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * The staged close of RFC 9112 §9.6, nginx's {@code lingering_close}: a connection closed while its client is still
 * sending a request body (a worker answered early, 413 or 401, before reading an upload) first sends the response's
 * end (a FIN, after TLS's {@code close_notify}), then reads and drops what the client still sends, and closes once the
 * client closes its side, after {@link #TIMEOUT_NANOS} without data ({@code lingering_timeout}) or after
 * {@link #TIME_NANOS} in all ({@code lingering_time}). Closed at once, the socket had unread bytes, so the kernel
 * reset it, and the reset wiped the response from the client's buffer before it read it: curl got no answer in 3–9
 * of 20 uploads (found by an attacking helper; none went missing straight to the worker).
 * <p>Put first in the pipeline, it drops bytes before any TLS or HTTP handler sees them. On the connection's loop.
 */
final class LingeringClose extends ChannelInboundHandlerAdapter {

    /** nginx's {@code lingering_timeout}: how long to wait for the client's next bytes. */
    static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** nginx's {@code lingering_time}: how long to drop a client's bytes at most. */
    static final long TIME_NANOS = TimeUnit.SECONDS.toNanos(30);
    /**
     * How long a connection closed to make room at {@code max-connections} drops its client's bytes at most: its place
     * is another client's once it has closed, and a client that kept sending held it for {@link #TIME_NANOS}.
     */
    static final long RECLAIMED_TIME_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final long deadline;
    private ScheduledFuture<?> timer;

    /** {@code deadline}: {@link System#nanoTime()} when the connection closes at the latest. */
    private LingeringClose(long deadline) {
        this.deadline = deadline;
    }

    /**
     * Ends {@code channel} in stages once {@code written} (the response's last write) is done, dropping the client's
     * bytes for {@link #TIME_NANOS} at most from then; see the class. How long the write may take is bounded apart
     * ({@code client-send-timeout}).
     */
    static void after(ChannelFuture written) {
        linger(written, null, TIME_NANOS);
    }

    /**
     * As {@link #after(ChannelFuture)}, for a refusal: {@code timeNanos} in all from now, the write included. Counted
     * from the write's end, a client that read the refusal only at the last moment held the connection twice as long
     * (found by an attacking helper: 60 s for a 408, 4 s for a body refused to make room).
     */
    static void after(ChannelFuture written, long timeNanos) {
        linger(written, System.nanoTime() + timeNanos, timeNanos);
    }

    /** {@code deadline}: when it closes at the latest, or null to count {@code timeNanos} from the write's end. */
    private static void linger(ChannelFuture written, Long deadline, long timeNanos) {
        written.addListener(done -> {
            Channel channel = written.channel();
            if (!done.isSuccess() || !(channel instanceof DuplexChannel duplex) || !channel.isActive()
                    || duplex.isInputShutdown()) {
                channel.close();
                return;
            }
            SslHandler tls = channel.pipeline().get(SslHandler.class);
            LingeringClose lingering = new LingeringClose(deadline == null ? System.nanoTime() + timeNanos : deadline);
            channel.pipeline().addFirst(lingering);
            // Bounded from here on, also while close_notify or the FIN waits behind a client that reads nothing.
            lingering.awaitMore(channel);
            ChannelFuture ended = tls != null ? tls.closeOutbound() : channel.newSucceededFuture();
            ended.addListener(notified -> {
                if (!notified.isSuccess() || !channel.isActive()) {
                    channel.close();
                    return;
                }
                duplex.shutdownOutput().addListener((ChannelFutureListener) shut -> {
                    if (!shut.isSuccess()) {
                        channel.close();
                        return;
                    }
                    channel.config().setAutoRead(true);
                    channel.read();
                });
            });
        });
    }

    private void awaitMore(Channel channel) {
        if (timer != null) {
            timer.cancel(false);
        }
        long left = Math.min(TIMEOUT_NANOS, deadline - System.nanoTime());
        if (left <= 0) {
            channel.close();
            return;
        }
        timer = channel.eventLoop().schedule((Runnable) channel::close, left, TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object message) {
        ReferenceCountUtil.release(message);
        awaitMore(ctx.channel());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Dropped: nothing after this handler reads any more.
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            ctx.close(); // the client is done: nothing unread is left to reset the connection with
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
