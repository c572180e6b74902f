package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Found by a helper acting as a new user: a port free on 127.0.0.1 may be held on another address, and a worker that
 * listens on every interface (Node's {@code listen(PORT)}) then fails with {@code EADDRINUSE}.
 */
class FreePortsTests {

    /**
     * 400 ports held on 127.0.0.2 (as outgoing connections from another local address hold theirs): a pick free on
     * 127.0.0.1 alone lands on one of them ~5 times in 400 picks; a pick free on every address never does.
     */
    @Test
    void aPortHeldOnAnotherAddressIsNeverPicked() throws Exception {
        List<ServerSocket> held = new ArrayList<>();
        Set<Integer> heldPorts = new HashSet<>();
        try {
            for (int i = 0; i < 400; i++) {
                ServerSocket socket = new ServerSocket();
                held.add(socket);
                socket.bind(new InetSocketAddress("127.0.0.2", 0), 1);
                heldPorts.add(socket.getLocalPort());
            }
            List<Integer> picked = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                picked.add(FreePorts.pick());
            }
            assertThat(picked).doesNotContainAnyElementsOf(heldPorts);
        } finally {
            for (ServerSocket socket : held) {
                socket.close();
            }
        }
    }
}
