package dev.shepherd.testsupport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports a test can name before anything listens on them. A port asked of the kernel ({@code new ServerSocket(0)})
 * and closed again is free, but it lies in the ephemeral range ({@code net.ipv4.ip_local_port_range}), where every
 * outgoing connection and every {@code bind(0)} of this machine draws its port: the master's own connections to its
 * workers, its admin port 0, other tests' processes. One of them took such a port between the test's check and the
 * master's bind ("Port … is already in use", seen once in CI-like runs). A port below the ephemeral range is never
 * handed out by the kernel, so only an explicit bind to that number can take it.
 */
public final class FreePorts {

    private static final Path EPHEMERAL_RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    /** Lowest port drawn from; registered services mostly sit below it. */
    private static final int LOWEST = 15_000;

    private FreePorts() {
    }

    /**
     * A loopback port that nothing listens on now and that the kernel will not hand out as an ephemeral port: drawn at
     * random between 15,000 and the ephemeral range's start (32,768 if the range cannot be read), checked by binding
     * it. Falls back to a kernel-chosen port when the range leaves no room below it.
     */
    public static int unassigned() {
        int below = ephemeralRangeStart();
        for (int attempt = 0; below - LOWEST > 100 && attempt < 50; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, below);
            if (bindable(port)) {
                return port;
            }
        }
        return kernelChosen();
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            return true;
        } catch (IOException inUse) {
            return false;
        }
    }

    private static int kernelChosen() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException ex) {
            throw new IllegalStateException("no free loopback port", ex);
        }
    }

    private static int ephemeralRangeStart() {
        try {
            return Integer.parseInt(Files.readString(EPHEMERAL_RANGE).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException unreadable) {
            return 32_768;
        }
    }
}
