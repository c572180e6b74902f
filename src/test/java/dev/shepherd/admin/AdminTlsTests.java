package dev.shepherd.admin;

import dev.shepherd.InvalidSetting;
import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.ssl.DefaultSslBundleRegistry;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleKey;
import org.springframework.boot.ssl.SslOptions;
import org.springframework.boot.ssl.jks.JksSslStoreBundle;
import org.springframework.boot.ssl.jks.JksSslStoreDetails;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.Ssl;

import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(OutputCaptureExtension.class)
class AdminTlsTests {

    /** Tomcat takes a named bundle's options as they are: server.ssl's ciphers, set by AdminTls, did not apply. */
    @Test
    void aBundleWithoutCiphersIsWarnedAboutAndOneWithThemIsNot(@TempDir Path directory, CapturedOutput output) throws Exception {
        Path keyStore = TestCertificates.selfSignedKeyStore(directory, "admin");
        JksSslStoreBundle stores = new JksSslStoreBundle(new JksSslStoreDetails("PKCS12", null, keyStore.toString(),
                TestCertificates.PASSWORD), null);
        DefaultSslBundleRegistry bundles = new DefaultSslBundleRegistry();
        bundles.registerBundle("bare", SslBundle.of(stores, SslBundleKey.of(TestCertificates.PASSWORD)));
        bundles.registerBundle("tuned", SslBundle.of(stores, SslBundleKey.of(TestCertificates.PASSWORD),
                SslOptions.of(Set.of("TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), null)));

        customize(bundles, "tuned");
        assertThat(output.getOut()).doesNotContain("sets no options.ciphers").doesNotContain("ignored");
        customize(bundles, "bare");

        assertThat(output.getOut()).contains("WARN", "management.server.ssl.bundle bare sets no options.ciphers: the "
                + "admin port offers Tomcat's default suites, CBC and DHE ones among them; set "
                + "spring.ssl.bundle.<jks|pem>.bare.options.ciphers to the proxy's (TLS_AES_128_GCM_SHA256,");
    }

    @Test
    void ciphersBesideANamedBundleAreWarnedAboutAsIgnored(@TempDir Path directory, CapturedOutput output) throws Exception {
        Path keyStore = TestCertificates.selfSignedKeyStore(directory, "admin");
        DefaultSslBundleRegistry bundles = new DefaultSslBundleRegistry();
        bundles.registerBundle("tuned", SslBundle.of(new JksSslStoreBundle(new JksSslStoreDetails("PKCS12", null,
                keyStore.toString(), TestCertificates.PASSWORD), null), SslBundleKey.of(TestCertificates.PASSWORD),
                SslOptions.of(Set.of("TLS_AES_128_GCM_SHA256"), null)));
        Ssl ssl = new Ssl();
        ssl.setCiphers(new String[] {"TLS_AES_256_GCM_SHA384"});

        customize(bundles, "tuned", ssl);

        assertThat(output.getOut()).contains("WARN", "management.server.ssl.ciphers is ignored: "
                + "management.server.ssl.bundle names the bundle tuned, and Spring Boot then takes the keys and options "
                + "from it alone");
    }

    /** Options that leave no protocol a suite stop startup naming the bundle's options, not with Tomcat's words. */
    @Test
    void aBundleAllowingOnlyTls13WithoutATls13SuiteIsAnInvalidSetting(@TempDir Path directory) throws Exception {
        Path keyStore = TestCertificates.selfSignedKeyStore(directory, "admin");
        DefaultSslBundleRegistry bundles = new DefaultSslBundleRegistry();
        bundles.registerBundle("only13", SslBundle.of(new JksSslStoreBundle(new JksSslStoreDetails("PKCS12", null,
                keyStore.toString(), TestCertificates.PASSWORD), null), SslBundleKey.of(TestCertificates.PASSWORD),
                SslOptions.of(Set.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), Set.of("TLSv1.3"))));

        assertThatThrownBy(() -> customize(bundles, "only13")).isInstanceOf(InvalidSetting.class)
                .hasMessageContaining("management.server.ssl.* gives the admin port no usable TLS: "
                        + "spring.ssl.bundle.<jks|pem>.only13.options.enabled-protocols allows only TLSv1.3, but "
                        + "spring.ssl.bundle.<jks|pem>.only13.options.ciphers names no TLS 1.3 suite");
    }

    private static void customize(DefaultSslBundleRegistry bundles, String name) {
        customize(bundles, name, new Ssl());
    }

    private static void customize(DefaultSslBundleRegistry bundles, String name, Ssl ssl) {
        TomcatServletWebServerFactory factory = new TomcatServletWebServerFactory();
        ssl.setBundle(name);
        factory.setSsl(ssl);
        factory.setSslBundles(bundles);
        new AdminTls().customize(factory);
    }
}
