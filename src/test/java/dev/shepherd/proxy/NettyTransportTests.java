package dev.shepherd.proxy;

import dev.shepherd.fleet.ProxyTransport;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringSocketChannel;
import org.junit.jupiter.api.Test;

import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NettyTransportTests {

    private static final Supplier<NettyTransport.Availability> LOADED = () -> new NettyTransport.Availability(true, null);
    private static final Supplier<NettyTransport.Availability> BLOCKED = () -> new NettyTransport.Availability(false,
            new UnsupportedOperationException("io_uring_setup: Operation not permitted"));
    private static final Supplier<NettyTransport.Availability> NOT_ASKED = () -> {
        throw new AssertionError("a native library was loaded for a transport that cannot be used");
    };

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
                .hasMessageContaining("fleet.proxy.transport is io-uring, but io_uring cannot be used here")
                .hasMessageContaining("io_uring_setup: Operation not permitted")
                .hasMessageContaining("set fleet.proxy.transport to auto or nio");
        assertThatThrownBy(() -> NettyTransport.select(ProxyTransport.EPOLL, LOADED, BLOCKED))
                .hasMessageContaining("fleet.proxy.transport is epoll");
    }

    @Test
    void theNativeTransportsDeferAcceptsAndNioCannot() {
        assertThat(NettyTransport.select(ProxyTransport.IO_URING, LOADED, LOADED).deferAcceptOption())
                .isSameAs(IoUringChannelOption.TCP_DEFER_ACCEPT);
        assertThat(NettyTransport.select(ProxyTransport.EPOLL, LOADED, LOADED).deferAcceptOption())
                .isSameAs(EpollChannelOption.TCP_DEFER_ACCEPT);
        assertThat(NettyTransport.select(ProxyTransport.NIO, LOADED, LOADED).deferAcceptOption()).isNull();
    }

    @Test
    void ioUringRunsOneEventLoopPerProcessorAndTheOthersOnePerTwo() {
        assertThat(NettyTransport.select(ProxyTransport.IO_URING, LOADED, LOADED).defaultEventLoops(4)).isEqualTo(4);
        assertThat(NettyTransport.select(ProxyTransport.EPOLL, LOADED, LOADED).defaultEventLoops(4)).isEqualTo(2);
        assertThat(NettyTransport.select(ProxyTransport.NIO, LOADED, LOADED).defaultEventLoops(1)).isEqualTo(1);
    }

    @Test
    void nioLoadsNoNativeLibraryAndANamedTransportLoadsOnlyItsOwn() {
        assertThat(NettyTransport.select(ProxyTransport.NIO, NOT_ASKED, NOT_ASKED).name()).isEqualTo("nio");
        assertThat(NettyTransport.select(ProxyTransport.EPOLL, NOT_ASKED, LOADED).name()).isEqualTo("epoll");
        assertThat(NettyTransport.select(ProxyTransport.AUTO, LOADED, NOT_ASKED).name()).isEqualTo("io_uring");
    }

    @Test
    void onlyAutoFallsBackWhenTheProxyCannotStartOnTheChosenTransport() {
        NettyTransport ioUring = NettyTransport.select(ProxyTransport.IO_URING, LOADED, NOT_ASKED);
        assertThat(ioUring.fallback(ProxyTransport.IO_URING)).isNull();
        assertThat(ioUring.fallback(ProxyTransport.AUTO)).isNotNull();
        assertThat(ioUring.fallback(ProxyTransport.AUTO).name()).isIn("epoll", "nio");
        NettyTransport nio = NettyTransport.select(ProxyTransport.NIO, NOT_ASKED, NOT_ASKED);
        assertThat(nio.fallback(ProxyTransport.AUTO)).isNull();
    }
}
