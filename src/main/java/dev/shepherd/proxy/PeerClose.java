package dev.shepherd.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.channel.uring.IoUringTcpInfo;

/**
 * Whether the kernel has already seen a worker close (or reset) a pooled connection that its event loop has not
 * read the close of yet: a busy loop handles the close some time after it arrived, and meanwhile the connection
 * looks open and idle. Asks the socket's TCP state ({@code getsockopt(TCP_INFO)}, one system call, of the order of
 * a microsecond) on io_uring and epoll: anything but {@code ESTABLISHED} (a FIN received is {@code CLOSE_WAIT}, a
 * reset {@code CLOSE}) is a connection the worker has left. Unknown on NIO, taken as open. Asked only before a
 * request that could not be sent again goes on a pooled connection ({@link UpstreamPool#acquire}). One per event
 * loop, whose thread alone uses it: it keeps the buffers the state is read into.
 */
final class PeerClose {

    /** {@code TCP_ESTABLISHED} of Linux's {@code include/net/tcp_states.h}. */
    private static final int TCP_ESTABLISHED = 1;

    private IoUringTcpInfo ioUringInfo;
    private EpollTcpInfo epollInfo;

    /** Whether {@code channel}'s peer has closed or reset it, as far as the kernel knows; false when it cannot tell. */
    boolean seen(Channel channel) {
        try {
            if (channel instanceof IoUringSocketChannel socket) {
                if (ioUringInfo == null) {
                    ioUringInfo = new IoUringTcpInfo();
                }
                return socket.tcpInfo(ioUringInfo).state() != TCP_ESTABLISHED;
            }
            if (channel instanceof EpollSocketChannel socket) {
                if (epollInfo == null) {
                    epollInfo = new EpollTcpInfo();
                }
                return socket.tcpInfo(epollInfo).state() != TCP_ESTABLISHED;
            }
        } catch (ChannelException closed) {
            // The socket is gone already.
            return true;
        }
        return false;
    }
}
