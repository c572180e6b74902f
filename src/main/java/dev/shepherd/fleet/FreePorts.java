package dev.shepherd.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Picks a free port for a new worker: one that no socket of the machine holds on any address, so that an app that
 * listens on every interface (Node's {@code listen(PORT)}, the way most apps are written) can take it, as well as one
 * that listens on 127.0.0.1. Another program may still take it first; the worker then fails to start and is retried.
 */
final class FreePorts {

    private FreePorts() {
    }

    /**
     * A port free now on every address: the kernel's pick for the wildcard address, without {@code SO_REUSEADDR}, so
     * that no socket bound to it on another address (an outgoing connection from 127.0.0.2, from the host's own
     * address) shares it. Free on 127.0.0.1 alone, 14 of 300 ports could not be listened on at {@code ::} on a busy
     * host, and 5 of 15 reloads of a healthy Node fleet were rolled back for {@code EADDRINUSE} (found by a helper
     * acting as a new user).
     *
     * @throws UncheckedIOException naming the cause when none can be bound (the master is out of descriptors, or of
     *         ephemeral ports)
     */
    static int pick() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(0), 1);
            return socket.getLocalPort();
        } catch (IOException ex) {
            throw new UncheckedIOException("no free port for it: " + ex.getMessage(), ex);
        }
    }
}
