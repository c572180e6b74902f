package dev.shepherd.fleet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Picks a free loopback port for a new worker. Another program may take it first; the worker then fails to start and is retried. */
final class FreePorts {

    private FreePorts() {
    }

    /**
     * A port free now on the loopback address.
     *
     * @throws UncheckedIOException naming the cause when none can be bound (the master is out of descriptors, or of
     *         ephemeral ports)
     */
    static int pick() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        } catch (IOException ex) {
            throw new UncheckedIOException("no free loopback port for it: " + ex.getMessage(), ex);
        }
    }
}
