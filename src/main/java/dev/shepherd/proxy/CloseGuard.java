package dev.shepherd.proxy;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;

/**
 * A close while a response whose body ends with the connection is still being relayed, or was cut short
 * ({@link ClientHandler#bodyCut}), must not look like that end (RFC 9112 §8): the connection is reset
 * ({@code SO_LINGER} 0) and, on TLS, closed without {@code close_notify}, which would tell the client the body ended
 * cleanly (an attacking helper got 81,920 of 655,360 bytes ending in a clean close_notify when the master stopped,
 * and 4 of 50 MB when {@code client-send-timeout} closed a slow reader). It sits between the TLS handler and the
 * HTTP handlers, so that every close the proxy asks for (an exchange, a timeout, the master's shutdown) passes it
 * before the TLS handler, which it then removes.
 * <p>{@link #SHUT_INPUT}, first in a TLS connection's pipeline, shuts its input before any close, the TLS handler's
 * own included: on io_uring, a connection that SslHandler closed during a read (a failed handshake, a bad record)
 * kept its socket while its next read was still submitted: no FIN, no RST, for as long as the client said nothing
 * (the helper left 3,000 such sockets past max-connections).
 * <p>Both sharable: they keep no state; the guard asks the connection's {@link ClientHandler}.
 */
@ChannelHandler.Sharable
final class CloseGuard extends ChannelOutboundHandlerAdapter {

    static final CloseGuard INSTANCE = new CloseGuard();

    /** Shuts a connection's input before it is closed (see the class comment). */
    static final ChannelOutboundHandlerAdapter SHUT_INPUT = new ShutInput();

    private CloseGuard() {
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        ClientHandler client = ctx.pipeline().get(ClientHandler.class);
        if (client != null && client.closeWouldEndBodyEarly() && ctx.channel().isActive()) {
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
            SslHandler tls = ctx.pipeline().get(SslHandler.class);
            if (tls != null) {
                ctx.pipeline().remove(tls); // before it sees the close: no close_notify
            }
        }
        ctx.close(promise);
    }

    @ChannelHandler.Sharable
    private static final class ShutInput extends ChannelOutboundHandlerAdapter {
        @Override
        public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
            if (ctx.channel() instanceof DuplexChannel duplex && duplex.isActive() && !duplex.isInputShutdown()) {
                duplex.shutdownInput();
            }
            ctx.close(promise);
        }
    }
}
