package dev.shepherd.testsupport;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A real WebSocket worker for tests, started as its own process (Netty's own WebSocket server codec, so the
 * proxy is tested against an implementation it does not share code with):
 * <ul>
 *   <li>{@code /health}: 200</li>
 *   <li>{@code /ws}: a WebSocket that echoes text, binary and continuation frames (pings are answered by Netty); the text
 *       {@code whoami} is answered {@code pid=<pid>}, and every close it sees, with its code, is appended to
 *       {@code RECORD_FILE} as {@code <pid> closed <code>} (or {@code <pid> dropped} when the TCP connection ended
 *       without a close frame)</li>
 *   <li>{@code /raw} with {@code Upgrade: echo-bytes}: {@code 101} to that protocol, then every byte is echoed;
 *       when the client half-closes, the worker writes {@code bye} and closes ({@code /raw-hold}: and stays
 *       open)</li>
 *   <li>{@code /rogue}: {@code 101} to {@code h2c} whatever the client offered</li>
 *   <li>{@code /forged}: {@code 101} to {@code websocket} with a {@code Sec-WebSocket-Accept} that answers no key (as
 *       an endpoint that lets a client choose the status would), then the bytes {@code raw}</li>
 *   <li>{@code /marked...}: as anything else, and when the connection that carried it closes, {@code <pid> <path>
 *       closed} is appended to {@code RECORD_FILE}</li>
 *   <li>anything else, an upgrade offered or not: {@code 200} with the body {@code plain <upgrade header or ->
 *       <pid>}</li>
 * </ul>
 */
public final class WebSocketWorker {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv("PORT"));
        String pid = Long.toString(ProcessHandle.current().pid());
        String record = System.getenv("RECORD_FILE");
        var group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        channel.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new Routes(pid, record),
                                new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                                        .websocketPath("/ws").checkStartsWith(true).maxFramePayloadLength(4 << 20)
                                        .handleCloseFrames(false).build()),
                                new Echo(pid, record));
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), port).sync().channel().closeFuture().sync();
    }

    /** The plain HTTP routes; {@code /ws} goes on to the WebSocket handler. */
    private static final class Routes extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String pid;
        private final String record;
        private String marked;

        Routes(String pid, String record) {
            super(false);
            this.pid = pid;
            this.record = record;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (marked != null) {
                append(record, pid + " " + marked + " closed");
            }
            ctx.fireChannelInactive();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            String path = request.uri();
            String upgrade = request.headers().get("Upgrade");
            if (path.startsWith("/ws")) {
                ctx.fireChannelRead(request);
                return;
            }
            if (path.startsWith("/marked")) {
                marked = path;
            }
            try {
                if ((path.equals("/raw") || path.equals("/raw-hold")) && "echo-bytes".equalsIgnoreCase(upgrade)) {
                    switchTo(ctx, "echo-bytes");
                    for (String name : java.util.List.copyOf(ctx.pipeline().names())) {
                        if (!name.equals(ctx.name()) && ctx.pipeline().get(name) != null
                                && !(ctx.pipeline().get(name) instanceof HttpServerCodec)) {
                            ctx.pipeline().remove(name);
                        }
                    }
                    ctx.pipeline().addLast(new RawEcho(path.equals("/raw-hold")));
                    ctx.pipeline().remove(HttpServerCodec.class);
                    ctx.pipeline().remove(this);
                } else if (path.equals("/rogue")) {
                    switchTo(ctx, "h2c");
                } else if (path.equals("/forged")) {
                    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                            HttpResponseStatus.SWITCHING_PROTOCOLS);
                    response.headers().set("Upgrade", "websocket").set("Connection", "Upgrade")
                            .set("Sec-WebSocket-Accept", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
                    ctx.write(response);
                    ctx.writeAndFlush(Unpooled.copiedBuffer("raw", StandardCharsets.US_ASCII));
                } else {
                    String body = path.equals("/health") ? "ok" : "plain " + (upgrade == null ? "-" : upgrade) + " " + pid;
                    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
                    response.headers().setInt("Content-Length", response.content().readableBytes());
                    ctx.writeAndFlush(response);
                }
            } finally {
                request.release();
            }
        }

        private static void switchTo(ChannelHandlerContext ctx, String protocol) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.SWITCHING_PROTOCOLS);
            response.headers().set("Upgrade", protocol).set("Connection", "Upgrade");
            ctx.writeAndFlush(response);
        }
    }

    /** Echoes WebSocket frames and records closes. */
    private static final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {
        private final String pid;
        private final String record;
        private boolean closeSeen;

        Echo(String pid, String record) {
            super(false);
            this.pid = pid;
            this.record = record;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            if (frame instanceof CloseWebSocketFrame close) {
                closeSeen = true;
                append(pid + " closed " + close.statusCode());
                ctx.writeAndFlush(new CloseWebSocketFrame(close.statusCode(), "bye")).addListener(ChannelFutureListener.CLOSE);
                frame.release();
            } else if (frame instanceof TextWebSocketFrame text && text.text().equals("whoami")) {
                frame.release();
                ctx.writeAndFlush(new TextWebSocketFrame("pid=" + pid));
            } else if (frame instanceof TextWebSocketFrame || frame instanceof BinaryWebSocketFrame
                    || frame instanceof ContinuationWebSocketFrame) {
                ctx.writeAndFlush(frame);
            } else {
                frame.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof WebSocketServerProtocolHandler.ServerHandshakeStateEvent) {
                return;
            }
            if (event instanceof ChannelInputShutdownEvent) {
                // The client's end of the WebSocket is gone: close, as a server without half-closure does.
                ctx.close();
                return;
            }
            super.userEventTriggered(ctx, event);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            append(closeSeen ? null : pid + " dropped");
        }

        private void append(String line) {
            WebSocketWorker.append(record, line);
        }
    }

    /** Appends {@code line} to the file {@code record}, if both are given. */
    private static void append(String record, String line) {
        if (record == null || line == null) {
            return;
        }
        try {
            Files.writeString(Path.of(record), line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (java.io.IOException ex) {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    /**
     * After {@code 101 echo-bytes}: echoes bytes; a half-close is answered {@code bye}, then the connection closes,
     * unless {@code hold}: then it stays open on the worker's side (a peer that never closes).
     */
    private static final class RawEcho extends SimpleChannelInboundHandler<ByteBuf> {
        private final boolean hold;

        RawEcho(boolean hold) {
            super(false);
            this.hold = hold;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf bytes) {
            ctx.writeAndFlush(bytes);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent) {
                Channel channel = ctx.channel();
                ChannelFuture written = channel.writeAndFlush(Unpooled.copiedBuffer("bye", StandardCharsets.US_ASCII));
                if (!hold) {
                    written.addListener(ChannelFutureListener.CLOSE);
                }
            }
        }
    }
}
