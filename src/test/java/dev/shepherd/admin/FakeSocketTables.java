package dev.shepherd.admin;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Socket tables ({@code /proc/net/tcp}, {@code tcp6}) of one connection, for {@link SocketOwners} in tests whose
 * requests are MockMvc's, on no socket: from {@code 127.0.0.1:80} to {@code 127.0.0.1:80}, its defaults.
 */
final class FakeSocketTables {

    /** The user id the fakes give the master. */
    static final int MASTER = 1000;

    private FakeSocketTables() {
    }

    /** MockMvc's requests as a process of the master's user sends them. */
    static SocketOwners mastersUser() {
        return mockMvcCallerOf(MASTER);
    }

    /** MockMvc's requests as a process of user {@code uid} sends them, to a master of user {@link #MASTER}. */
    static SocketOwners mockMvcCallerOf(int uid) {
        try {
            Path net = Files.createTempDirectory("shepherd-net");
            String loopback = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? "0100007F:0050" : "7F000001:0050";
            Path tcp = Files.writeString(net.resolve("tcp"), "  sl  local_address rem_address   st tx_queue rx_queue tr "
                    + "tm->when retrnsmt   uid  timeout inode\n   0: " + loopback + " " + loopback
                    + " 01 00000000:00000000 00:00000000 00000000 " + uid + " 0 4242 1 0 20 4 30 10 -1\n");
            Path tcp6 = Files.writeString(net.resolve("tcp6"), "");
            net.toFile().deleteOnExit();
            tcp.toFile().deleteOnExit();
            tcp6.toFile().deleteOnExit();
            return new SocketOwners(net, MASTER);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
