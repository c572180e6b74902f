package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The admin client against a fake master (HostileMasterTests has what it refuses). */
class AdminClientTests {

    private HttpServer server;
    private AdminClient client;

    @BeforeEach
    void startServer() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/limit", exchange -> send(exchange, AdminClient.MAX_ANSWER_BYTES));
        server.createContext("/gateway", exchange -> {
            byte[] page = "<html>502 Bad Gateway</html>".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(502, page.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(page);
            }
        });
        server.createContext("/page", exchange -> {
            byte[] page = "<html><body>Hello from a worker</body></html>".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, page.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(page);
            }
        });
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

    /** ls --json at the proxy's port printed the worker's page and exited 0 (found by a new user). */
    @Test
    void theTextOfAnAnswerThatIsNotJsonIsRefused() {
        assertThatThrownBy(() -> client.getText("/page")).isInstanceOf(CtlException.class)
                .hasMessageContaining("sent something that is not JSON: is http://127.0.0.1:");
    }

    /**
     * Found by an attacking helper: another user's process, refused by a master without a token, was told to set
     * --token, which gets the same 403; it is told to run as the master's user, or to have the master set a token.
     */
    @Test
    void aRefusalOfAnotherUserByAMasterWithoutATokenSaysWhatHelps() {
        CtlException refusal = client.refusal(403, "{\"title\":\"Forbidden\",\"status\":403,\"detail\":\""
                + AdminClient.NO_TOKEN_REFUSAL + "root's processes on this machine; another user needs "
                + "fleet.admin.token set\"}");

        assertThat(refusal.getMessage()).isEqualTo("the admin API refused the request (Forbidden: This admin port has no "
                + "token, so it answers only root's processes on this machine; another user needs fleet.admin.token set): "
                + "run this command as the master's user, or set fleet.admin.token on the master and give it here "
                + "(--token, SHEPHERD_ADMIN_TOKEN or SHEPHERD_ADMIN_TOKEN_FILE)");
        assertThat(client.refusal(403, "{\"title\":\"Forbidden\",\"detail\":\"Cross-origin\"}").getMessage())
                .as("another 403").contains("use a host name the master allows");
    }

    /** A gateway in front of the admin port that cannot reach the master: exit 5, as when the master cannot be reached. */
    @Test
    void aGatewaysErrorIsTheMasterUnreachable() {
        assertThatThrownBy(() -> client.get("/gateway")).isInstanceOf(CtlException.class)
                .hasMessageContaining("answered 502")
                .satisfies(ex -> assertThat(((CtlException) ex).exitCode()).isEqualTo(Ctl.UNREACHABLE));
    }

    @Test
    void anUntrustedCertificateIsSaidAsSuch(@TempDir Path directory) throws Exception {
        Path keyStore = TestCertificates.selfSignedKeyStore(directory, "admin");
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            keys.load(in, TestCertificates.PASSWORD.toCharArray());
        }
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, TestCertificates.PASSWORD.toCharArray());
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), null, null);
        HttpsServer tls = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        tls.setHttpsConfigurator(new HttpsConfigurator(context));
        tls.createContext("/limit", exchange -> send(exchange, 1));
        tls.start();
        try {
            String url = "https://127.0.0.1:" + tls.getAddress().getPort();
            AdminClient https = new AdminClient(new AdminTarget(URI.create(url), null));

            assertThatThrownBy(() -> https.getText("/limit")).isInstanceOf(CtlException.class)
                    .hasMessageStartingWith("the admin API at " + url + " has a certificate this client does not trust (")
                    .hasMessageEndingWith("give its trust store with SHEPHERD_CTL_JAVA_OPTS=\"-Djavax.net.ssl.trustStore=FILE\"");
        } finally {
            tls.stop(0);
        }
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
