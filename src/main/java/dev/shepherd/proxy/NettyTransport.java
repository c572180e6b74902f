package dev.shepherd.proxy;

import dev.shepherd.fleet.ProxyTransport;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import jdk.net.ExtendedSocketOptions;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * The Netty classes behind a {@link ProxyTransport}: the event loops' I/O handler and the channel types of the
 * listening socket and of every connection, chosen once at start. A connection to a worker must use the transport
 * of the loop it is registered on, which is the client's.
 *
 * <p>Why io_uring first: the event loop submits the reads and writes of a whole batch of connections in one system
 * call instead of one each, and measured here it costs a quarter less CPU per proxied request than NIO
 * (bench/RESULTS.md). Container runtimes often block io_uring in their seccomp profile; {@code auto} then uses
 * epoll.
 *
 * <p>{@code reusePortOption} is the transport's {@code SO_REUSEPORT} option, with which each event loop listens on
 * the port itself and Linux spreads new connections over the loops (nginx's {@code listen ... reuseport}); null on
 * NIO, the transport for other systems, where the option does not spread connections (on macOS the last socket
 * bound gets them all). {@code deferAcceptOption} is its {@code TCP_DEFER_ACCEPT} option (Linux, seconds), null on
 * NIO. {@code quickAckOption} is its {@code TCP_QUICKACK} option (Linux; on NIO the JDK's, which sets nothing where
 * the system has none).
 */
record NettyTransport(ProxyTransport kind, Supplier<IoHandlerFactory> ioHandler,
                      Class<? extends ServerChannel> serverChannel, Class<? extends SocketChannel> socketChannel,
                      ChannelOption<Boolean> reusePortOption, ChannelOption<Integer> deferAcceptOption,
                      ChannelOption<Boolean> quickAckOption) {

    private static final String PROPERTY = "fleet.proxy.transport";

    /** The transport's usual name, as logs show it: io_uring, epoll or nio. */
    String name() {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    /**
     * Event loops when {@code fleet.proxy.event-loops} is not set: one per processor on io_uring, as nginx's
     * {@code worker_processes auto}, HAProxy's {@code nbthread} and Envoy's {@code --concurrency} default to; half
     * of them (at least one) on epoll and NIO. Measured on two cores shared with the workers and the load
     * (bench/RESULTS.md, "Event loops and the WebSocket relay"): on NIO (and epoll, alike) one loop used less CPU
     * per request than two at the same throughput; on io_uring two loops served as many plain HTTP requests per
     * second as one within the noise, while one used less CPU, the workers' included, and relayed WebSocket messages
     * faster under load (README, "Benchmarks", says when to choose fewer).
     */
    int defaultEventLoops(int processors) {
        return kind == ProxyTransport.IO_URING ? processors : Math.max(1, processors / 2);
    }

    /** Whether a native transport loaded in this JVM, and if not, why. */
    record Availability(boolean available, Throwable cause) {
    }

    /** Native libraries are loaded only for the transports that {@code wanted} may use. */
    static NettyTransport select(ProxyTransport wanted) {
        return select(wanted, () -> new Availability(IoUring.isAvailable(), IoUring.unavailabilityCause()),
                () -> new Availability(Epoll.isAvailable(), Epoll.unavailabilityCause()));
    }

    static NettyTransport select(ProxyTransport wanted, Supplier<Availability> ioUring, Supplier<Availability> epoll) {
        return switch (wanted) {
            case AUTO -> ioUring.get().available() ? ioUring() : epoll.get().available() ? epoll() : nio();
            case IO_URING -> require(ioUring(), ioUring.get());
            case EPOLL -> require(epoll(), epoll.get());
            case NIO -> nio();
        };
    }

    /**
     * What to try when this transport loaded but the proxy could not start on it: with {@code auto}, the next one
     * down (io_uring, epoll, NIO); null when the transport was asked for by name, or nothing is left.
     */
    NettyTransport fallback(ProxyTransport wanted) {
        if (wanted != ProxyTransport.AUTO || kind == ProxyTransport.NIO) {
            return null;
        }
        return kind == ProxyTransport.IO_URING && Epoll.isAvailable() ? epoll() : nio();
    }

    private static NettyTransport require(NettyTransport transport, Availability availability) {
        if (!availability.available()) {
            String value = transport.name().replace('_', '-');
            throw new IllegalStateException(PROPERTY + " is " + value + ", but " + transport.name()
                    + " cannot be used here (" + availability.cause() + "); set " + PROPERTY + " to auto or nio");
        }
        return transport;
    }

    private static NettyTransport ioUring() {
        return new NettyTransport(ProxyTransport.IO_URING, IoUringIoHandler::newFactory,
                IoUringServerSocketChannel.class, IoUringSocketChannel.class, IoUringChannelOption.SO_REUSEPORT,
                IoUringChannelOption.TCP_DEFER_ACCEPT, IoUringChannelOption.TCP_QUICKACK);
    }

    private static NettyTransport epoll() {
        return new NettyTransport(ProxyTransport.EPOLL, EpollIoHandler::newFactory,
                EpollServerSocketChannel.class, EpollSocketChannel.class, EpollChannelOption.SO_REUSEPORT,
                EpollChannelOption.TCP_DEFER_ACCEPT, EpollChannelOption.TCP_QUICKACK);
    }

    private static NettyTransport nio() {
        return new NettyTransport(ProxyTransport.NIO, NioIoHandler::newFactory, NioServerSocketChannel.class,
                NioSocketChannel.class, null, null, NioChannelOption.of(ExtendedSocketOptions.TCP_QUICKACK));
    }
}
