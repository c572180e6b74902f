package dev.shepherd.proxy;

import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.ssl.DefaultSslBundleRegistry;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleKey;
import org.springframework.boot.ssl.jks.JksSslStoreBundle;
import org.springframework.boot.ssl.jks.JksSslStoreDetails;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.Ssl;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What {@link ProxyTls#of} makes of {@code server.ssl.*}: a setting no client could handshake with fails at once,
 * naming the reason, instead of starting and failing every connection (found by an attacking helper).
 */
@ExtendWith(OutputCaptureExtension.class)
class ProxyTlsTests {

    @TempDir
    static Path directory;

    /** BoringSSL offers every version between the lowest and highest listed, and every TLS 1.3 suite: said at startup. */
    @Test
    void whatBoringSslOffersBeyondTheSettingsIsWarnedOf() {
        assertThat(ProxyTls.openSslWarnings(new String[] {"TLSv1", "TLSv1.3"}, null, "server.ssl.")).singleElement().asString()
                .startsWith("server.ssl.enabled-protocols leaves out TLSv1.1, TLSv1.2, which the proxy offers all the "
                        + "same on BoringSSL");
        assertThat(ProxyTls.openSslWarnings(new String[] {"TLSv1.2", "TLSv1.3"}, null, "server.ssl.")).isEmpty();
        assertThat(ProxyTls.openSslWarnings(new String[] {"TLSv1.3"}, null, "server.ssl.")).isEmpty();
        assertThat(ProxyTls.openSslWarnings(null, null, "server.ssl.")).as("the defaults").isEmpty();
        assertThat(ProxyTls.openSslWarnings(new String[] {"TLSv1.1", "TLSv1.3"}, null, "spring.ssl.bundle.<jks|pem>.web.options."))
                .singleElement().asString().startsWith("spring.ssl.bundle.<jks|pem>.web.options.enabled-protocols leaves out TLSv1.2");

        assertThat(ProxyTls.openSslWarnings(null, new String[] {"TLS_AES_256_GCM_SHA384",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "server.ssl.")).singleElement().asString()
                .startsWith("server.ssl.ciphers names only TLS_AES_256_GCM_SHA384 of the TLS 1.3 suites, but the proxy "
                        + "offers every one (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256)");
        assertThat(ProxyTls.openSslWarnings(new String[] {"TLSv1.2", "TLSv1.3"},
                new String[] {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "server.ssl."))
                .as("no TLS 1.3 suite: no TLS 1.3 at all, said whatever the provider").isEmpty();
        assertThat(ProxyTls.openSslWarnings(new String[] {"TLSv1.2"},
                new String[] {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "server.ssl.")).as("no TLS 1.3 offered").isEmpty();
        assertThat(ProxyTls.openSslWarnings(null, new String[] {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, "server.ssl.")).isEmpty();
    }

    @Test
    void aUsableKeyStorePassesTheSelfCheck() throws Exception {
        assertThat(ProxyTls.of(keyStore("usable"), null, 10_000, null)).isNotNull();
    }

    @Test
    void withoutServerSslCiphersOnlyForwardSecretAeadSuitesAreOffered() throws Exception {
        List<String> offered = ProxyTls.of(keyStore("ciphers"), null, 10_000, null).cipherSuites();

        assertThat(offered).isNotEmpty().allSatisfy(suite -> assertThat(suite)
                .matches("TLS_(AES_\\d+_GCM|CHACHA20_POLY1305)_SHA\\d+|TLS_ECDHE_(RSA|ECDSA)_WITH_.*(GCM|POLY1305).*"));
        assertThat(offered).contains("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    }

    @Test
    void serverSslCiphersAreOfferedAsGiven() throws Exception {
        Ssl ssl = keyStore("given");
        ssl.setCiphers(new String[]{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"});
        ssl.setEnabledProtocols(new String[]{"TLSv1.2"});

        assertThat(ProxyTls.of(ssl, null, 10_000, null).cipherSuites())
                .containsExactly("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
    }

    @Test
    void noSslOrSslTurnedOffGivesNoTls() {
        Ssl off = new Ssl();
        off.setEnabled(false);
        assertThat(ProxyTls.of(null, null, 10_000, null)).isNull();
        assertThat(ProxyTls.of(off, null, 10_000, null)).isNull();
    }

    /** Found by an attacking helper (2026-12-04): an IllegalStateException, which Spring Boot printed as a stack trace. */
    @Test
    void serverNameBundlesAreASettingTheStartupReportNames() throws Exception {
        Ssl ssl = keyStore("names");
        Ssl.ServerNameSslBundle bundle = new Ssl.ServerNameSslBundle("example.com", "other");
        ssl.setServerNameBundles(List.of(bundle));

        assertThatThrownBy(() -> ProxyTls.of(ssl, null, 10_000, null)).isInstanceOf(dev.shepherd.InvalidSetting.class)
                .hasMessage("server.ssl.server-name-bundles is set, but the proxy serves one certificate")
                .extracting(ex -> ((dev.shepherd.InvalidSetting) ex).property()).isEqualTo("server.ssl.server-name-bundles");
    }

    /**
     * Found by a helper acting as a new user: a certificate without its key (or a key without its certificate) failed
     * with Spring's "no trust material is configured", which points away from what is missing.
     */
    @Test
    void aCertificateWithoutItsKeyOrAKeyWithoutItsCertificateNamesTheMissingSetting() {
        Ssl noKey = new Ssl();
        noKey.setCertificate("classpath:nothing.crt");
        assertThatThrownBy(() -> ProxyTls.of(noKey, null, 10_000, null)).isInstanceOf(dev.shepherd.InvalidSetting.class)
                .hasMessageContaining("server.ssl.certificate is set, but not server.ssl.certificate-private-key")
                .extracting(ex -> ((dev.shepherd.InvalidSetting) ex).property())
                .isEqualTo("server.ssl.certificate-private-key");
        Ssl noCertificate = new Ssl();
        noCertificate.setCertificatePrivateKey("classpath:nothing.key");
        assertThatThrownBy(() -> ProxyTls.of(noCertificate, null, 10_000, null))
                .isInstanceOf(dev.shepherd.InvalidSetting.class)
                .extracting(ex -> ((dev.shepherd.InvalidSetting) ex).property()).isEqualTo("server.ssl.certificate");
    }

    @Test
    void onlyAProtocolNoCurrentClientSpeaksFailsNamingServerSsl() throws Exception {
        Ssl ssl = keyStore("old");
        ssl.setEnabledProtocols(new String[]{"TLSv1.1"});

        assertThatThrownBy(() -> ProxyTls.of(ssl, null, 10_000, null)).isInstanceOf(ProxyTls.ProxyTlsException.class)
                .hasMessageStartingWith("server.ssl.* gives the proxy no usable TLS: ");
    }

    /**
     * Only TLS 1.3 allowed and no TLS 1.3 suite named: BoringSSL stopped startup with its own code
     * ({@code NO_SUPPORTED_VERSIONS_ENABLED}), which names no setting. Both are named now, and what to do.
     */
    @Test
    void onlyTls13WithoutATls13SuiteFailsNamingBothSettings() throws Exception {
        Ssl ssl = keyStore("only13");
        ssl.setEnabledProtocols(new String[]{"TLSv1.3"});
        ssl.setCiphers(new String[]{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"});

        assertThatThrownBy(() -> ProxyTls.of(ssl, null, 10_000, null)).isInstanceOf(ProxyTls.ProxyTlsException.class)
                .hasMessage("server.ssl.* gives the proxy no usable TLS: server.ssl.enabled-protocols allows only "
                        + "TLSv1.3, but server.ssl.ciphers names no TLS 1.3 suite (TLS_AES_128_GCM_SHA256, "
                        + "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256): add them, or allow TLSv1.2 for the "
                        + "suites named");
    }

    /** TLS 1.3 allowed beside TLS 1.2 but no TLS 1.3 suite named: only TLS 1.2 is served, which a warning says. */
    @Test
    void tls13WithoutATls13SuiteIsWarnedOfAndOnlyTls12Served(CapturedOutput output) throws Exception {
        Ssl ssl = keyStore("no13");
        ssl.setEnabledProtocols(new String[]{"TLSv1.2", "TLSv1.3"});
        ssl.setCiphers(new String[]{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}); // the test key is EC

        assertThat(ProxyTls.of(ssl, null, 10_000, null).cipherSuites())
                .containsExactly("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assertThat(output.getOut()).contains("server.ssl.ciphers names no TLS 1.3 suite, so TLS 1.3 is not offered "
                + "although server.ssl.enabled-protocols lists it");
    }

    /**
     * Mozilla's "intermediate" list names DHE suites, which BoringSSL does not have: it stopped startup with
     * "unsupported cipher suite" (an attacking helper). They are left out with a warning, as OpenSSL's cipher lists
     * (nginx's) skip names they do not know.
     */
    @Test
    void suitesTheProviderDoesNotHaveAreLeftOutWithAWarning(CapturedOutput output) throws Exception {
        Ssl ssl = keyStore("mozilla");
        ssl.setCiphers(new String[]{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_NO_SUCH_CIPHER_WITH_NOTHING"});

        assertThat(ProxyTls.of(ssl, null, 10_000, null).cipherSuites())
                .containsExactly("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
        assertThat(output.getOut()).contains("server.ssl.ciphers names suites that TLS on ", " does not have, left out: "
                + "TLS_NO_SUCH_CIPHER_WITH_NOTHING");
    }

    @Test
    void aCipherNoProviderKnowsFailsNamingServerSsl() throws Exception {
        Ssl ssl = keyStore("bogus");
        ssl.setCiphers(new String[]{"TLS_NO_SUCH_CIPHER_WITH_NOTHING"});

        assertThatThrownBy(() -> ProxyTls.of(ssl, null, 10_000, null)).isInstanceOf(ProxyTls.ProxyTlsException.class)
                .hasMessageStartingWith("server.ssl.* gives the proxy no usable TLS: ");
    }

    @Test
    void aWrongPasswordIsReportedInTheInnermostWords() throws Exception {
        Ssl ssl = keyStore("password");
        ssl.setKeyStorePassword("wrong");

        assertThatThrownBy(() -> ProxyTls.of(ssl, null, 10_000, null)).isInstanceOf(ProxyTls.ProxyTlsException.class)
                .hasMessageContaining("keystore password was incorrect");
        ProxyTls.ProxyTlsException failure = new ProxyTls.ProxyTlsException(
                new IllegalStateException("wrapper", new java.io.IOException("keystore password was incorrect")));
        assertThat(new ProxyTlsFailureAnalyzer().analyze(failure).getDescription())
                .isEqualTo("server.ssl.* gives the proxy no usable TLS: wrapper: keystore password was incorrect");
    }

    /** The in-memory handshake caught it, but named only the client's alert (TLSV1_ALERT_INTERNAL_ERROR). */
    @Test
    void aKeyOfAnotherCertificateIsReportedSayingSo() throws Exception {
        Ssl ssl = keyStore("mismatched-one");
        ssl.setKeyStore(TestCertificates.mismatchedKeyStore(directory, Path.of(ssl.getKeyStore()),
                TestCertificates.selfSignedKeyStore(directory, "mismatched-two")).toString());

        assertThatThrownBy(() -> ProxyTls.of(ssl, null, 10_000, null)).isInstanceOf(ProxyTls.ProxyTlsException.class)
                .hasMessage("server.ssl.* gives the proxy no usable TLS: the private key does not match the certificate "
                        + "(CN=localhost, alias mismatched): give the key the certificate was issued for");
    }

    /** Spring Boot takes a named bundle alone: the proxy offered the bundle's suites, not these, without a word. */
    @Test
    void ciphersBesideANamedBundleAreWarnedAboutAsIgnored(CapturedOutput output) throws Exception {
        Ssl given = keyStore("bundled");
        DefaultSslBundleRegistry bundles = new DefaultSslBundleRegistry();
        bundles.registerBundle("web", SslBundle.of(new JksSslStoreBundle(new JksSslStoreDetails("PKCS12", null,
                given.getKeyStore(), TestCertificates.PASSWORD), null), SslBundleKey.of(TestCertificates.PASSWORD)));
        Ssl ssl = new Ssl();
        ssl.setBundle("web");
        ssl.setCiphers(new String[]{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"});

        assertThat(ProxyTls.of(ssl, bundles, 10_000, null).cipherSuites()).contains("TLS_AES_128_GCM_SHA256");
        assertThat(output.getOut()).contains("WARN", "server.ssl.ciphers is ignored: server.ssl.bundle names the bundle "
                + "web, and Spring Boot then takes the keys and options from it alone");
    }

    @Test
    void serverSslProtocolIsSaidToBeUnusedByTheProxy(CapturedOutput output) throws Exception {
        Ssl ssl = keyStore("protocol");
        ssl.setProtocol("TLSv1.2");

        assertThat(ProxyTls.of(ssl, null, 10_000, null)).isNotNull();
        assertThat(output.getOut()).contains("WARN", "server.ssl.protocol=TLSv1.2 is not used by the proxy: set "
                + "server.ssl.enabled-protocols");
    }

    private static Ssl keyStore(String alias) throws Exception {
        Ssl ssl = new Ssl();
        ssl.setKeyStore(TestCertificates.selfSignedKeyStore(directory, alias).toString());
        ssl.setKeyStorePassword(TestCertificates.PASSWORD);
        ssl.setKeyStoreType("PKCS12");
        return ssl;
    }
}
