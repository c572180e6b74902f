package dev.shepherd.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * The end of one connection to a worker: hands the response parts ({@link UpstreamDecoder}) to the exchange that
 * uses the connection, if any. A pooled idle connection has none; anything a worker sends on it closes it.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {

    private final UpstreamDecoder decoder;
    private Exchange exchange;
    private Throwable error;

    UpstreamHandler(UpstreamDecoder decoder) {
        this.decoder = decoder;
    }

    /** Gives the connection to an exchange whose request is about to be sent: see {@link UpstreamDecoder#expect}. */
    void attach(Exchange exchange, boolean headRequest, boolean http10Client) {
        this.exchange = exchange;
        this.error = null;
        decoder.expect(headRequest, http10Client);
    }

    void detach() {
        this.exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (exchange != null) {
            exchange.onUpstreamMessage(msg);
        } else {
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.flushClient();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Exchange current = exchange;
        exchange = null;
        if (current != null) {
            current.onUpstreamClosed(error);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        error = cause;
        ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.upstreamWritabilityChanged(ctx.channel().isWritable());
        }
    }
}
