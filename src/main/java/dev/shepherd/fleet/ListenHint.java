package dev.shepherd.fleet;

import dev.shepherd.worker.ListeningSocket;

import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Why a worker's readiness probe is refused, where its processes' listening sockets tell: they listen on its
 * {@code PORT}, but on an address that no connection to 127.0.0.1 reaches ({@code [::1]}: Node 17 and later bind
 * {@code listen(PORT, 'localhost')} there where {@code localhost} resolves to {@code ::1} first), or on other ports
 * (an app with {@code listen(3000)} written in, usual under PM2's cluster mode, which shares one port). Both were said
 * only as "Connection refused", the second at the startup timeout alone (found by a new user's attack).
 *
 * @param clause what to append to the probe's failure: {@code "; its processes listen on ..."}
 * @param conclusive whether it holds for good: a port bound on the wrong address will not move; a process that
 *                   listens on another port (a debugger's, a metrics port) may still bind its {@code PORT}
 */
record ListenHint(String clause, boolean conclusive) {

    /** Listed sockets or ports at most; more are said as "…". */
    private static final int LISTED = 5;

    /** The hint for a worker given {@code port} whose processes listen on {@code sockets}; empty when none fits. */
    static Optional<ListenHint> of(int port, List<ListeningSocket> sockets) {
        List<ListeningSocket> onPort = sockets.stream().filter(socket -> socket.port() == port).toList();
        if (!onPort.isEmpty()) {
            // One 127.0.0.1 reaches: it was bound since the probe, which is then no case for a hint.
            return onPort.stream().anyMatch(ListeningSocket::takesLoopbackIpv4) ? Optional.empty()
                    : Optional.of(new ListenHint(elsewhereThanLoopback(onPort), true));
        }
        if (sockets.isEmpty()) {
            return Optional.empty();
        }
        List<Integer> ports = sockets.stream().map(ListeningSocket::port).distinct().sorted().toList();
        return Optional.of(new ListenHint("; its processes listen on " + listed(ports) + ", not on its PORT " + port
                + ": a worker must listen on the port Shepherd gives it in the PORT variable", false));
    }

    private static String elsewhereThanLoopback(List<ListeningSocket> onPort) {
        boolean ipv6Loopback = onPort.stream().allMatch(ListeningSocket::onIpv6Loopback);
        return "; its processes listen on " + listed(onPort.stream().distinct().toList())
                + (ipv6Loopback ? " (IPv6 loopback)" : "") + " only, not on 127.0.0.1, where Shepherd connects: a worker "
                + "must listen on 127.0.0.1 or on every address" + (ipv6Loopback ? " (Node: listen(PORT) or "
                + "listen(PORT, '127.0.0.1'), not 'localhost', which may resolve to ::1)" : "");
    }

    private static String listed(List<?> items) {
        return items.stream().limit(LISTED).map(String::valueOf).collect(Collectors.joining(", "))
                + (items.size() > LISTED ? ", …" : "");
    }
}
