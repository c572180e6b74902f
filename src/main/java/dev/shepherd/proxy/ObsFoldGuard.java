package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * Rejects obsolete line folding (a header line starting with a space or tab) with 400, as RFC 9112 §5.2 allows
 * and as Tomcat does; Netty's decoder would silently join the lines. Sits before the decoder and scans only the
 * header block of each request: from the start of the connection, and again once the previous request is
 * complete ({@link #expectHead()}). A fold inside a request that arrives in the same packet as the end of the
 * previous one is joined by the decoder instead (what RFC 9112 also allows): it never reaches a worker as a fold.
 */
final class ObsFoldGuard extends ChannelInboundHandlerAdapter {

    private boolean inHead = true;
    private boolean firstLine = true;
    private boolean lineStart;
    private boolean emptyLine;

    void expectHead() {
        inHead = true;
        firstLine = true;
        lineStart = false;
        emptyLine = false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (inHead && msg instanceof ByteBuf buffer && folds(buffer)) {
            ReferenceCountUtil.release(msg);
            ctx.channel().writeAndFlush(ErrorResponses.of(HttpResponseStatus.BAD_REQUEST,
                    "obsolete line folding in a header is not accepted", false)).addListener(ChannelFutureListener.CLOSE);
            inHead = false;
            ctx.channel().config().setAutoRead(false);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    private boolean folds(ByteBuf buffer) {
        for (int i = buffer.readerIndex(); i < buffer.writerIndex() && inHead; i++) {
            byte b = buffer.getByte(i);
            if (lineStart && !firstLine && (b == ' ' || b == '\t')) {
                return true;
            }
            if (b == '\n') {
                inHead = !emptyLine;
                firstLine = false;
                lineStart = true;
                emptyLine = false;
            } else {
                emptyLine = lineStart && b == '\r';
                lineStart = false;
            }
        }
        return false;
    }
}
