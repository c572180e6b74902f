import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.FastThreadLocal;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The ceiling of Shepherd's data-plane design, with none of its features: what ../shared/MEASURED.md calls "a
 * minimal Netty 4.2 proxy". bench/throughput.sh runs it as the "baseline" target (BASELINE=on) next to Shepherd
 * over the same workers, so the cost of Shepherd's features shows as the ratio between the two.
 *
 * <p>Per request: round-robin over one atomic counter; each event loop keeps its own idle keep-alive connections
 * per worker, registered on the client's loop; request and response parts stream through as they arrive, one
 * flush per read batch; Connection dropped and X-Forwarded-For appended; a client that did not ask for keep-alive
 * (ab's HTTP/1.0) has its connection closed after the response; accepts deferred until the client's first bytes on
 * io_uring and epoll (Shepherd's default). No retries, no timeouts, no metrics, no
 * pipelining, no strictness beyond Netty's decoder: not a proxy to deploy.
 *
 * <p>Usage: java -cp NETTY_JARS MinimalProxy.java PORT UPSTREAM_PORT...
 */
public final class MinimalProxy {

    private static int[] upstreams;
    private static final AtomicInteger next = new AtomicInteger();
    private static final FastThreadLocal<ArrayDeque<Channel>[]> idle = new FastThreadLocal<>() {
        @Override
        @SuppressWarnings("unchecked")
        protected ArrayDeque<Channel>[] initialValue() {
            ArrayDeque<Channel>[] pools = new ArrayDeque[upstreams.length];
            for (int i = 0; i < pools.length; i++) {
                pools[i] = new ArrayDeque<>();
            }
            return pools;
        }
    };
    private static Bootstrap client;

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        upstreams = new int[args.length - 1];
        for (int i = 1; i < args.length; i++) {
            upstreams[i - 1] = Integer.parseInt(args[i]);
        }
        // The same transport Shepherd's auto picks: io_uring, else epoll, else NIO (-Dtransport=nio to force one).
        String transport = System.getProperty("transport",
                IoUring.isAvailable() ? "io_uring" : Epoll.isAvailable() ? "epoll" : "nio");
        Supplier<IoHandlerFactory> io = switch (transport) {
            case "io_uring" -> IoUringIoHandler::newFactory;
            case "epoll" -> EpollIoHandler::newFactory;
            default -> NioIoHandler::newFactory;
        };
        Class<? extends SocketChannel> socket = switch (transport) {
            case "io_uring" -> IoUringSocketChannel.class;
            case "epoll" -> EpollSocketChannel.class;
            default -> NioSocketChannel.class;
        };
        Class<? extends ServerChannel> server = switch (transport) {
            case "io_uring" -> IoUringServerSocketChannel.class;
            case "epoll" -> EpollServerSocketChannel.class;
            default -> NioServerSocketChannel.class;
        };
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, io.get());
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(Runtime.getRuntime().availableProcessors(), io.get());
        client = new Bootstrap().channel(socket).option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new Upstream());
                    }
                });
        ServerBootstrap bootstrap = new ServerBootstrap();
        // Accepts deferred until a client's first bytes, as Shepherd's fleet.proxy.defer-accept does by default.
        switch (transport) {
            case "io_uring" -> bootstrap.option(IoUringChannelOption.TCP_DEFER_ACCEPT, 1);
            case "epoll" -> bootstrap.option(EpollChannelOption.TCP_DEFER_ACCEPT, 1);
            default -> { }
        }
        bootstrap.group(boss, loops).channel(server)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Client());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", port)).sync();
        System.out.println("minimal proxy on " + port + ", transport " + transport);
    }

    /** A client connection: one request at a time goes to one upstream connection. */
    static final class Client extends ChannelInboundHandlerAdapter {
        private Channel upstream;
        private ArrayDeque<Object> connecting;
        private int worker;
        private String clientIp;
        /** The client asked for its connection to stay open (HTTP/1.1 without close, HTTP/1.0 with keep-alive). */
        boolean keepAlive;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            clientIp = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request) {
                keepAlive = HttpUtil.isKeepAlive(request);
                request.headers().remove(HttpHeaderNames.CONNECTION);
                // HTTP/1.1 to the worker whatever the client spoke, so that the upstream connection stays open.
                request.setProtocolVersion(HttpVersion.HTTP_1_1);
                request.headers().add("X-Forwarded-For", clientIp);
                worker = (next.getAndIncrement() & Integer.MAX_VALUE) % upstreams.length;
                Channel pooled = idle.get()[worker].pollFirst();
                if (pooled != null && pooled.isActive()) {
                    attach(ctx, pooled, msg);
                } else {
                    connecting = new ArrayDeque<>();
                    client.clone(ctx.channel().eventLoop()).connect("127.0.0.1", upstreams[worker])
                            .addListener((ChannelFutureListener) future -> {
                                if (future.isSuccess()) {
                                    attach(ctx, future.channel(), msg);
                                    connecting.forEach(future.channel()::write);
                                    connecting = null;
                                    future.channel().flush();
                                } else {
                                    ctx.close();
                                }
                            });
                }
            } else if (connecting != null) {
                connecting.add(msg);
            } else if (upstream != null) {
                upstream.write(msg);
            }
        }

        private void attach(ChannelHandlerContext ctx, Channel channel, Object request) {
            upstream = channel;
            channel.pipeline().get(Upstream.class).client = ctx;
            channel.pipeline().get(Upstream.class).owner = this;
            channel.write(request);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (upstream != null) {
                upstream.flush();
            }
        }

        void responseDone(Channel channel, boolean keepAlive) {
            upstream = null;
            if (keepAlive) {
                idle.get()[worker].addFirst(channel);
            } else {
                channel.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (upstream != null) {
                upstream.close();
            }
        }
    }

    /** An upstream connection: streams the response back to the client that uses it. */
    static final class Upstream extends ChannelInboundHandlerAdapter {
        ChannelHandlerContext client;
        Client owner;
        private boolean keepAlive;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof io.netty.handler.codec.http.HttpResponse response) {
                keepAlive = HttpUtil.isKeepAlive(response);
                response.headers().remove(HttpHeaderNames.CONNECTION);
            }
            client.write(msg);
            if (msg instanceof LastHttpContent) {
                if (owner.keepAlive) {
                    client.flush();
                } else {
                    // ab's HTTP/1.0 requests: the response ends with the connection.
                    client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                }
                owner.responseDone(ctx.channel(), keepAlive);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (client != null && owner.upstream == ctx.channel()) {
                client.close();
            }
        }
    }
}
