package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * TLS goes where the user meant it: management.server.ssl.* on the admin port (server.ssl.* is the proxy's:
 * {@code ProxyTlsIntegrationTests}).
 */
@ExtendWith(OutputCaptureExtension.class)
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
            assertThat(response.body()).contains("\"status\":\"UP\"")
                    .as("the admin certificate in the ssl health").contains("\"validChains\":[{\"alias\":\"admin\"");
            assertThat(response.headers().firstValue("Strict-Transport-Security"))
                    .as("no HSTS: a browser would take it for every port of the host").isEmpty();
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

    /**
     * A reloaded bundle whose key is not its certificate's is not handed to Tomcat: the port goes on with the previous
     * one and the log says why (Spring Boot hands any reload on, and the port failed every handshake from then on,
     * found by an attacking helper). A good one that follows is taken, and an expired one with a warning.
     */
    @Test
    void aReloadedBundleWithTheWrongKeyIsNotUsedAndAGoodOneIs(@TempDir Path watched, @TempDir Path made,
                                                              CapturedOutput output) throws Exception {
        Path first = TestCertificates.selfSignedKeyStore(made, "admin");
        Path mismatched = TestCertificates.mismatchedKeyStore(made, TestCertificates.selfSignedKeyStore(made, "one"),
                TestCertificates.selfSignedKeyStore(made, "two"));
        Path next = TestCertificates.selfSignedKeyStore(made, "next");
        Path expired = TestCertificates.selfSignedKeyStore(made, "expired", "-startdate", "-3d", "-validity", "1");
        Path keyStore = Files.copy(first, watched.resolve("admin.p12"));
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--spring.ssl.bundle.jks.admin.keystore.location=file:" + keyStore,
                "--spring.ssl.bundle.jks.admin.keystore.password=" + TestCertificates.PASSWORD,
                "--spring.ssl.bundle.jks.admin.keystore.type=PKCS12", "--spring.ssl.bundle.jks.admin.reload-on-update=true",
                "--spring.ssl.bundle.watch.file.quiet-period=200ms", "--management.server.ssl.bundle=admin")) {
            URI health = URI.create("https://localhost:" + shepherd.adminPort() + "/actuator/health");

            Files.copy(mismatched, keyStore, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(20)).until(() -> output.getOut().contains("The admin port's TLS bundle "
                    + "admin (management.server.ssl.bundle) changed but cannot be used; the previous one stays: the "
                    + "private key does not match the certificate"));
            HttpClient trustingFirst = HttpClient.newBuilder().sslContext(TestCertificates.trusting(first)).build();
            HttpResponse<String> afterRefusal = trustingFirst.send(HttpRequest.newBuilder(health).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(afterRefusal.statusCode()).as("the previous certificate still served").isEqualTo(200);
            // Spring Boot's registry had taken the refused bundle, which the ssl health showed.
            assertThat(afterRefusal.body()).as("the ssl health shows the certificate served")
                    .contains("\"alias\":\"admin\"").doesNotContain("mismatched");

            Files.copy(next, keyStore, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).ignoreExceptions().untilAsserted(() -> {
                HttpClient trustingNext = HttpClient.newBuilder().sslContext(TestCertificates.trusting(next)).build();
                assertThat(trustingNext.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString())
                        .statusCode()).isEqualTo(200);
            });

            // An expired certificate is taken, as at startup with a warning (it was an INFO line only).
            Files.copy(expired, keyStore, StandardCopyOption.REPLACE_EXISTING);
            await().atMost(Duration.ofSeconds(20)).until(() -> output.getOut().contains("expired at"));
            assertThat(output.getOut()).containsPattern("WARN .*management\\.server\\.ssl\\.bundle admin: the certificate "
                    + "CN=localhost \\(alias expired\\) expired at .*: clients refuse it");
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
