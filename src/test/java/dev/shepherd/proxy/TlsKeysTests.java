package dev.shepherd.proxy;

import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.web.server.Ssl;

import javax.net.ssl.KeyManagerFactory;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

class TlsKeysTests {

    @TempDir
    Path directory;

    @Test
    void aKeyOfItsOwnCertificatePasses() throws Exception {
        KeyManagerFactory keys = keys(TestCertificates.selfSignedKeyStore(directory, "good"));

        TlsKeys.checkKeysMatch(keys, null);
        assertThat(TlsKeys.validityProblems(keys, null, Instant.now())).isEmpty();
    }

    /** Such a pair started the admin port "(https)", then every handshake failed with "bad signature". */
    @Test
    void aKeyOfAnotherCertificateIsRefusedSayingSo() throws Exception {
        Path mismatched = TestCertificates.mismatchedKeyStore(directory,
                TestCertificates.selfSignedKeyStore(directory, "one"), TestCertificates.selfSignedKeyStore(directory, "two"));

        assertThatIllegalStateException().isThrownBy(() -> TlsKeys.checkKeysMatch(keys(mismatched), null))
                .withMessage("the private key does not match the certificate (CN=localhost, alias mismatched): give the "
                        + "key the certificate was issued for");
    }

    @Test
    void protocolsAndCiphersThatLeaveNoProtocolASuiteAreTold() {
        String[] tls12Suite = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
        String[] tls13Suite = {"TLS_AES_128_GCM_SHA256"};
        assertThat(TlsKeys.noSuiteForAnyProtocol(new String[] {"TLSv1.3"}, tls12Suite, "x.")).startsWith(
                "x.enabled-protocols allows only TLSv1.3, but x.ciphers names no TLS 1.3 suite");
        assertThat(TlsKeys.noSuiteForAnyProtocol(new String[] {"TLSv1.2"}, tls13Suite, "x.")).isEqualTo(
                "x.ciphers names only TLS 1.3 suites, but x.enabled-protocols leaves TLSv1.3 out: add TLSv1.3, or name "
                        + "suites of the versions allowed");
        assertThat(TlsKeys.noSuiteForAnyProtocol(new String[] {"TLSv1.3"}, tls13Suite, "x.")).isNull();
        assertThat(TlsKeys.noSuiteForAnyProtocol(new String[] {"TLSv1.2", "TLSv1.3"}, tls12Suite, "x.")).isNull();
        assertThat(TlsKeys.noSuiteForAnyProtocol(null, tls12Suite, "x.")).as("the default protocols").isNull();
        assertThat(TlsKeys.noSuiteForAnyProtocol(new String[] {"TLSv1.3"}, null, "x.")).as("the default suites").isNull();
        assertThat(TlsKeys.noSuiteForAnyProtocol(new String[] {"TLSv1", "TLSv1.1"}, null, "x.")).isEqualTo(
                "x.enabled-protocols allows only TLSv1, TLSv1.1, which current clients refuse and the JDK turns off "
                        + "(RFC 8996): add TLSv1.2");
        assertThat(TlsKeys.tls13WithoutSuite(new String[] {"TLSv1.3"}, tls12Suite, "x."))
                .as("only TLS 1.3: the error above, not a warning").isNull();

        assertThat(TlsKeys.tls13WithoutSuite(new String[] {"TLSv1.2", "TLSv1.3"}, tls12Suite, "x.")).startsWith(
                "x.ciphers names no TLS 1.3 suite, so TLS 1.3 is not offered although x.enabled-protocols lists it");
        assertThat(TlsKeys.tls13WithoutSuite(null, tls12Suite, "x.")).contains("allows it by default");
        assertThat(TlsKeys.tls13WithoutSuite(new String[] {"TLSv1.2"}, tls12Suite, "x.")).isNull();
        assertThat(TlsKeys.tls13WithoutSuite(null, new String[] {"TLS_AES_256_GCM_SHA384", tls12Suite[0]}, "x."))
                .isNull();
        assertThat(TlsKeys.tls13WithoutSuite(null, null, "x.")).isNull();
    }

    /** Taken as set, but said (an attacking helper's testssl.sh run found them honoured without a word). */
    @Test
    void settingsBelowMozillasIntermediateConfigurationAreWarnedOf() {
        assertThat(TlsKeys.weakSettings(new String[] {"TLSv1", "TLSv1.1", "TLSv1.2"}, null, "x.")).singleElement()
                .asString().startsWith("x.enabled-protocols enables TLSv1, TLSv1.1, deprecated by RFC 8996");
        assertThat(TlsKeys.weakSettings(null, new String[] {"TLS_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-CHACHA20-POLY1305", "DHE-RSA-AES128-GCM-SHA256",
                "DES-CBC3-SHA", "TLS_ECDH_anon_WITH_AES_128_GCM_SHA256"}, "x.")).singleElement().asString()
                .startsWith("x.ciphers names suites without forward secrecy or authenticated encryption "
                        + "(TLS_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, DES-CBC3-SHA, "
                        + "TLS_ECDH_anon_WITH_AES_128_GCM_SHA256)");
        assertThat(TlsKeys.weakSettings(new String[] {"TLSv1.2", "TLSv1.3"},
                TlsKeys.DEFAULT_CIPHERS.toArray(String[]::new), "x.")).as("the defaults").isEmpty();
        assertThat(TlsKeys.weakSettings(new String[] {"TLSv1.3"}, new String[] {"TLS_AES_128_GCM_SHA256",
                "TLS_RSA_WITH_AES_128_CBC_SHA"}, "x.")).as("TLS 1.2 suites unused with TLS 1.3 alone").isEmpty();
        assertThat(TlsKeys.weakSettings(null, new String[] {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"}, "x.")).as("a signalling value is no suite").isEmpty();
        assertThat(TlsKeys.weakSettings(null, null, "x.")).isEmpty();
    }

    @Test
    void aCertificateOutsideItsValidityIsTold() throws Exception {
        KeyManagerFactory expired = keys(TestCertificates.selfSignedKeyStore(directory, "old", "-startdate", "-3d",
                "-validity", "1"));
        KeyManagerFactory future = keys(TestCertificates.selfSignedKeyStore(directory, "new", "-startdate", "+2d",
                "-validity", "5"));

        assertThat(TlsKeys.validityProblems(expired, null, Instant.now())).singleElement().asString()
                .startsWith("the certificate CN=localhost (alias old) expired at ").endsWith(": clients refuse it");
        assertThat(TlsKeys.validityProblems(future, null, Instant.now())).singleElement().asString()
                .startsWith("the certificate CN=localhost (alias new) is not valid before ");
        TlsKeys.checkKeysMatch(expired, null);
    }

    /** A key store that also keeps an unused, broken entry was refused whole, though key-alias chose a good one. */
    @Test
    void onlyTheChosenAliasIsCheckedWhenOneIsChosen() throws Exception {
        Path mismatched = TestCertificates.mismatchedKeyStore(directory,
                TestCertificates.selfSignedKeyStore(directory, "a"), TestCertificates.selfSignedKeyStore(directory, "b"));
        KeyStore both = load(mismatched);
        KeyStore good = load(TestCertificates.selfSignedKeyStore(directory, "web"));
        both.setKeyEntry("web", good.getKey("web", TestCertificates.PASSWORD.toCharArray()),
                TestCertificates.PASSWORD.toCharArray(), good.getCertificateChain("web"));
        KeyStore expired = load(TestCertificates.selfSignedKeyStore(directory, "old", "-startdate", "-3d", "-validity", "1"));
        both.setKeyEntry("old", expired.getKey("old", TestCertificates.PASSWORD.toCharArray()),
                TestCertificates.PASSWORD.toCharArray(), expired.getCertificateChain("old"));
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(both, TestCertificates.PASSWORD.toCharArray());

        TlsKeys.checkKeysMatch(keys, "web");
        assertThat(TlsKeys.validityProblems(keys, "web", Instant.now())).isEmpty();
        // The key manager then served nothing, and startup failed on the TLS library's opaque NO_CERTIFICATE_SET.
        assertThatIllegalStateException().isThrownBy(() -> TlsKeys.checkKeysMatch(keys, "WEB"))
                .withMessageStartingWith("key-alias WEB names no key entry of the key store (its key entries: ")
                .withMessageContaining("web").withMessageEndingWith("; an alias is matched exactly)");
        assertThatIllegalStateException().isThrownBy(() -> TlsKeys.checkKeysMatch(keys, null))
                .withMessageContaining("alias mismatched");
        assertThat(TlsKeys.validityProblems(keys, null, Instant.now())).singleElement().asString().contains("(alias old)");
    }

    private static KeyStore load(Path keyStore) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, TestCertificates.PASSWORD.toCharArray());
        }
        return store;
    }

    private static KeyManagerFactory keys(Path keyStore) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, TestCertificates.PASSWORD.toCharArray());
        }
        KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        factory.init(store, TestCertificates.PASSWORD.toCharArray());
        return factory;
    }

    /** Spring Boot takes a named bundle alone: server.ssl.ciphers beside it changed nothing, without a word. */
    @Test
    void settingsBesideANamedBundleAreNamedAsIgnored() {
        Ssl ssl = new Ssl();
        assertThat(TlsKeys.ignoredBesideBundle(ssl, "server.ssl", false)).as("no bundle, nothing ignored").isEmpty();
        ssl.setKeyStore("/etc/keys.p12");
        ssl.setCiphers(new String[] {"TLS_AES_128_GCM_SHA256"});
        assertThat(TlsKeys.ignoredBesideBundle(ssl, "server.ssl", true)).isEmpty();

        ssl.setBundle("web");
        ssl.setEnabledProtocols(new String[] {"TLSv1.3"});

        assertThat(TlsKeys.ignoredBesideBundle(ssl, "server.ssl", true))
                .containsExactly("server.ssl.key-store", "server.ssl.ciphers", "server.ssl.enabled-protocols");
        ssl.setProtocol("TLSv1.2");
        assertThat(TlsKeys.ignoredBesideBundle(ssl, "server.ssl", true)).contains("server.ssl.protocol");
        ssl.setProtocol("TLS");
        assertThat(TlsKeys.ignoredBesideBundle(ssl, "management.server.ssl", false))
                .as("ciphers that Shepherd set itself are not the user's")
                .containsExactly("management.server.ssl.key-store", "management.server.ssl.enabled-protocols");
        assertThat(TlsKeys.ignoredBesideBundleWarning(ssl, "server.ssl", true)).isEqualTo("server.ssl.key-store, "
                + "server.ssl.ciphers, server.ssl.enabled-protocols are ignored: server.ssl.bundle names the bundle web, "
                + "and Spring Boot then takes the keys and options from it alone; set them on "
                + "spring.ssl.bundle.<jks|pem>.web (options.ciphers, options.enabled-protocols, key.alias, keystore.*, "
                + "truststore.*) or remove them");
        Ssl bundleOnly = new Ssl();
        bundleOnly.setBundle("web");
        assertThat(TlsKeys.ignoredBesideBundleWarning(bundleOnly, "server.ssl", false))
                .as("Ssl's own defaults are nobody's setting").isNull();
    }
}
