package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

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
        }
    }
}
