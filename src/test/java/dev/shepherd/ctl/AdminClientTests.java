package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;

import static org.assertj.core.api.Assertions.assertThat;

/** The admin client against a fake master (HostileMasterTests has what it refuses). */
class AdminClientTests {

    private HttpServer server;
    private AdminClient client;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/limit", exchange -> send(exchange, AdminClient.MAX_ANSWER_BYTES));
        server.start();
        client = new AdminClient(new AdminTarget(URI.create("http://127.0.0.1:" + server.getAddress().getPort()), null));
    }

    @AfterEach
    void stopServer() {
        server.stop(0);
    }

    @Test
    void anAnswerOfExactlyTheLimitIsRead() {
        assertThat(client.getText("/limit")).hasSize(AdminClient.MAX_ANSWER_BYTES);
    }

    /** {@code bytes} of {@code ' '}, in pieces, without a length: a master cannot be trusted to announce it. */
    private static void send(com.sun.net.httpserver.HttpExchange exchange, int bytes) throws IOException {
        exchange.sendResponseHeaders(200, 0);
        byte[] piece = new byte[64 * 1024];
        java.util.Arrays.fill(piece, (byte) ' ');
        try (OutputStream out = exchange.getResponseBody()) {
            for (int left = bytes; left > 0; left -= piece.length) {
                out.write(piece, 0, Math.min(left, piece.length));
            }
        } catch (IOException ex) {
            // The client stopped reading at its limit.
        }
    }
}
