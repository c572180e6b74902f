package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * TLS goes where the user meant it: management.server.ssl.* on the admin port (server.ssl.* is the proxy's:
 * {@code ProxyTlsIntegrationTests}).
 */
class AdminTlsIntegrationTests {

    @Test
    void managementServerSslGivesTheAdminPortTlsAndLeavesTheProxyAsItWas(@TempDir Path directory) throws Exception {
        Path keyStore = TestCertificates.selfSignedKeyStore(directory, "admin");
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--management.server.ssl.key-store=" + keyStore,
                "--management.server.ssl.key-store-password=" + TestCertificates.PASSWORD,
                "--management.server.ssl.key-store-type=PKCS12")) {
            HttpClient tls = HttpClient.newBuilder().sslContext(TestCertificates.trusting(keyStore))
                    .connectTimeout(Duration.ofSeconds(5)).build();
            URI health = URI.create("https://localhost:" + shepherd.adminPort() + "/actuator/health");
            HttpResponse<String> response = tls.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("\"status\":\"UP\"");
            String plain = RawHttp.exchange(shepherd.adminPort(), "GET /actuator/health HTTP/1.1\r\nHost: localhost\r\n"
                    + "Connection: close\r\n\r\n");
            assertThat(plain).as("plain text on the admin port").doesNotContain("\"status\":\"UP\"");
            assertThat(shepherd.get("/").body()).as("the proxy, in plain text as before").startsWith("Process handled by pid");
            SSLSocket socket = (SSLSocket) TestCertificates.trusting(keyStore).getSocketFactory()
                    .createSocket("localhost", shepherd.adminPort());
            try (socket) {
                socket.setEnabledProtocols(new String[] {"TLSv1.2"});
                socket.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
                        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"});
                socket.startHandshake();
                assertThat(socket.getSession().getCipherSuite()).as("the proxy's suites, no CBC")
                        .isEqualTo("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
            }
        }
    }

    /** It started "(https)" and then failed every handshake with "bad signature". */
    @Test
    void aKeyOfAnotherCertificateStopsStartupNamingManagementServerSsl(@TempDir Path directory) throws Exception {
        Path mismatched = TestCertificates.mismatchedKeyStore(directory,
                TestCertificates.selfSignedKeyStore(directory, "one"), TestCertificates.selfSignedKeyStore(directory, "two"));

        assertThatThrownBy(() -> RunningShepherd.start("--fleet.workers=1",
                "--management.server.ssl.key-store=" + mismatched,
                "--management.server.ssl.key-store-password=" + TestCertificates.PASSWORD,
                "--management.server.ssl.key-store-type=PKCS12"))
                .hasStackTraceContaining("management.server.ssl.* gives the admin port no usable TLS: the private key "
                        + "does not match the certificate (CN=localhost, alias mismatched)");
        assertThatThrownBy(() -> RunningShepherd.start("--fleet.workers=1",
                "--management.server.ssl.key-store=" + directory.resolve("missing.p12"),
                "--management.server.ssl.key-store-password=x"))
                .hasStackTraceContaining("management.server.ssl.* gives the admin port no usable TLS");
    }
}
