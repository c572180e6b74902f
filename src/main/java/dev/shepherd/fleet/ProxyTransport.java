package dev.shepherd.fleet;

/** The I/O transport of the proxy's event loops ({@code fleet.proxy.transport}). */
public enum ProxyTransport {
    /** io_uring where the kernel offers it, else epoll on Linux, else NIO. */
    AUTO,
    /** Linux io_uring, where the kernel offers it and no seccomp profile blocks it. */
    IO_URING,
    /** Linux epoll. */
    EPOLL,
    /** The JDK's NIO selector: works everywhere. */
    NIO
}
