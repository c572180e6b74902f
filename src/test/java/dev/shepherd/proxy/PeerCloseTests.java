package dev.shepherd.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringSocketChannel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * The kernel's view of a connection whose close the event loop has not read: a real socket on each native transport,
 * not read from (auto-read off), as a pooled connection waits behind a busy loop's other events.
 */
class PeerCloseTests {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"io_uring", "epoll"})
    void aCloseOrResetTheLoopHasNotReadIsSeenAndAnOpenConnectionIsNot(String transport) throws Exception {
        IoHandlerFactory handler;
        Class<? extends SocketChannel> channelType;
        if (transport.equals("io_uring")) {
            assumeThat(IoUring.isAvailable()).as("io_uring is not available here").isTrue();
            handler = IoUringIoHandler.newFactory();
            channelType = IoUringSocketChannel.class;
        } else {
            assumeThat(Epoll.isAvailable()).as("epoll is not available here").isTrue();
            handler = EpollIoHandler.newFactory();
            channelType = EpollSocketChannel.class;
        }
        EventLoopGroup loops = new MultiThreadIoEventLoopGroup(1, handler);
        try (ServerSocket server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            PeerClose peerClose = new PeerClose();
            for (boolean reset : new boolean[] {false, true}) {
                Channel channel = new Bootstrap().group(loops).channel(channelType)
                        .option(ChannelOption.AUTO_READ, false).handler(new ChannelInboundHandlerAdapter())
                        .connect(server.getLocalSocketAddress()).sync().channel();
                try (Socket worker = server.accept()) {
                    assertThat(channel.eventLoop().submit(() -> peerClose.seen(channel)).get())
                            .as("open").isFalse();
                    if (reset) {
                        worker.setSoLinger(true, 0);
                    }
                    worker.close();
                    await().atMost(Duration.ofSeconds(5)).until(() ->
                            channel.eventLoop().submit(() -> peerClose.seen(channel)).get());
                } finally {
                    channel.close().sync();
                }
            }
        } finally {
            loops.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void aTransportThatCannotTellCountsAsOpen() {
        assertThat(new PeerClose().seen(new EmbeddedChannel())).isFalse();
    }
}
