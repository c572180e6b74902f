package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** TLS goes where the user meant it: management.server.ssl.* on the admin port, and server.ssl.* nowhere yet. */
class AdminTlsIntegrationTests {

    private static final String PASSWORD = "changeit";

    @Test
    void managementServerSslGivesTheAdminPortTlsAndLeavesTheProxyAsItWas(@TempDir Path directory) throws Exception {
        Path keyStore = selfSignedKeyStore(directory);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--management.server.ssl.key-store=" + keyStore, "--management.server.ssl.key-store-password=" + PASSWORD,
                "--management.server.ssl.key-store-type=PKCS12")) {
            HttpClient tls = HttpClient.newBuilder().sslContext(trusting(keyStore)).connectTimeout(Duration.ofSeconds(5)).build();
            URI health = URI.create("https://localhost:" + shepherd.adminPort() + "/actuator/health");
            HttpResponse<String> response = tls.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("\"status\":\"UP\"");
            String plain = RawHttp.exchange(shepherd.adminPort(), "GET /actuator/health HTTP/1.1\r\nHost: localhost\r\n"
                    + "Connection: close\r\n\r\n");
            assertThat(plain).as("plain text on the admin port").doesNotContain("\"status\":\"UP\"");
            assertThat(shepherd.get("/").body()).as("the proxy, in plain text as before").startsWith("Process handled by pid");
        }
    }

    @Test
    void serverSslStopsStartupNamingTheAdminPortsProperty() {
        assertThatThrownBy(() -> RunningShepherd.start("--fleet.workers=1", "--server.ssl.bundle=web"))
                .isInstanceOf(IllegalStateException.class).hasMessage("server.ssl.bundle is set, but the proxy on server.port does not terminate TLS yet: "
                        + "server.ssl.* would give TLS to the admin port only and leave the proxy in plain text. Remove "
                        + "every server.ssl.* property; for TLS on the admin port set the same keys under "
                        + "management.server.ssl.* (e.g. management.server.ssl.bundle), and terminate TLS for the proxy in "
                        + "front of it.");
    }

    /** A PKCS#12 key store with one self-signed key for localhost and 127.0.0.1, made by the JDK's keytool. */
    private static Path selfSignedKeyStore(Path directory) throws Exception {
        Path keyStore = directory.resolve("admin.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "admin", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=localhost", "-ext", "san=dns:localhost,ip:127.0.0.1", "-storetype", "PKCS12",
                "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD)
                .redirectErrorStream(true).start();
        String output = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).as(output).isZero();
        return keyStore;
    }

    private static SSLContext trusting(Path keyStore) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, PASSWORD.toCharArray());
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }

}
