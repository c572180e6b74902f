package dev.shepherd.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.NetUtil;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Who sent one request, as the proxy counts clients: the connection's peer, or, behind a trusted proxy, the client
 * it vouches for ({@link TrustedProxies}). The access log names it ({@link #accessLogClient}); the request-body
 * spool's fair shares are kept by it ({@link #spoolClient}). Confined to the client connection's event loop.
 */
final class RequestClient {

    private final ProxyContext proxy;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final RequestHead head;
    /** {@link #spoolClient()}, once found; null before. */
    private Object spoolClient;

    RequestClient(ProxyContext proxy, ClientHandler client, ChannelHandlerContext ctx, RequestHead head) {
        this.proxy = proxy;
        this.client = client;
        this.ctx = ctx;
        this.head = head;
    }

    /** nginx's {@code $remote_addr} with its realip module: behind a trusted proxy, the client it vouches for. */
    String accessLogClient() {
        return client.peerTrusted() ? proxy.trustedProxies().client(
                head.request().headers().getAll(ForwardedHeaders.X_FORWARDED_FOR), client.peer()) : client.peer();
    }

    /**
     * The client whose share of the request-body spool this request's body counts in ({@link BodySpool#makeRoom}), as
     * {@code fleet.proxy.max-connections-per-client} counts clients; behind a trusted proxy, the client it vouches
     * for ({@link #accessLogClient}). Found once.
     */
    Object spoolClient() {
        if (spoolClient == null) {
            InetAddress address = client.peerTrusted()
                    ? NetUtil.createInetAddressFromIpAddressString(accessLogClient())
                    : ctx.channel().remoteAddress() instanceof InetSocketAddress socket ? socket.getAddress() : null;
            spoolClient = address != null ? ClientConnectionLimit.client(address) : client.peer();
        }
        return spoolClient;
    }
}
