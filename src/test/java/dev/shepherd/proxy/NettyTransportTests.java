package dev.shepherd.proxy;

import dev.shepherd.fleet.ProxyTransport;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NettyTransportTests {

    private static final NettyTransport.Availability LOADED = new NettyTransport.Availability(true, null);
    private static final NettyTransport.Availability BLOCKED = new NettyTransport.Availability(false,
            new UnsupportedOperationException("io_uring_setup: Operation not permitted"));

    @Test
    void autoPrefersIoUringThenEpollThenNio() {
        assertThat(NettyTransport.select(ProxyTransport.AUTO, LOADED, LOADED).name()).isEqualTo("io_uring");
        assertThat(NettyTransport.select(ProxyTransport.AUTO, BLOCKED, LOADED).name()).isEqualTo("epoll");
        assertThat(NettyTransport.select(ProxyTransport.AUTO, BLOCKED, BLOCKED).name()).isEqualTo("nio");
    }

    @Test
    void aTransportChosenByNameIsUsedWithItsOwnChannelTypes() {
        NettyTransport ioUring = NettyTransport.select(ProxyTransport.IO_URING, LOADED, BLOCKED);
        assertThat(ioUring.socketChannel()).isEqualTo(IoUringSocketChannel.class);
        NettyTransport nio = NettyTransport.select(ProxyTransport.NIO, LOADED, LOADED);
        assertThat(nio.socketChannel()).isEqualTo(NioSocketChannel.class);
    }

    @Test
    void aNativeTransportChosenByNameThatCannotLoadStopsStartupNamingThePropertyAndTheCause() {
        assertThatThrownBy(() -> NettyTransport.select(ProxyTransport.IO_URING, BLOCKED, LOADED))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("fleet.proxy.transport is io_uring")
                .hasMessageContaining("io_uring_setup: Operation not permitted")
                .hasMessageContaining("set fleet.proxy.transport to auto or nio");
        assertThatThrownBy(() -> NettyTransport.select(ProxyTransport.EPOLL, LOADED, BLOCKED))
                .hasMessageContaining("fleet.proxy.transport is epoll");
    }

    @Test
    void ioUringRunsOneEventLoopPerProcessorAndTheOthersOnePerTwo() {
        assertThat(NettyTransport.select(ProxyTransport.IO_URING, LOADED, LOADED).defaultEventLoops(4)).isEqualTo(4);
        assertThat(NettyTransport.select(ProxyTransport.EPOLL, LOADED, LOADED).defaultEventLoops(4)).isEqualTo(2);
        assertThat(NettyTransport.select(ProxyTransport.NIO, LOADED, LOADED).defaultEventLoops(1)).isEqualTo(1);
    }
}
