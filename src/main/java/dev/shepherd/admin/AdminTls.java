package dev.shepherd.admin;

import dev.shepherd.InvalidSetting;
import dev.shepherd.proxy.TlsKeys;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.web.server.AbstractConfigurableWebServerFactory;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.WebServerSslBundle;
import org.springframework.core.Ordered;
import org.springframework.stereotype.Component;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * TLS on the admin port ({@code management.server.ssl.*}, which {@code PortLayout} hands to the servlet container),
 * checked as the proxy's is before the container starts: a private key that does not belong to its certificate, or
 * a setting no client can handshake with, stops startup naming {@code management.server.ssl.*} (such a port started
 * "(https)" and then failed every handshake with "bad signature", and a missing file ended startup in a stack
 * trace); a certificate outside its validity period is warned about. Without {@code management.server.ssl.ciphers}
 * the port offers the proxy's cipher suites, Mozilla's "intermediate" ({@link TlsKeys#DEFAULT_CIPHERS}), where
 * Tomcat's defaults add CBC and DHE suites; a named bundle's options are Tomcat's to take as they are, so one without
 * ciphers is warned about instead. A named bundle's reload that fails the same checks is not handed to Tomcat, which
 * keeps the previous one ({@link CheckedReloads}); {@code management.server.ssl.*} without a bundle is registered as
 * {@value #BUNDLE_NAME}, for the Actuator's {@code ssl} health.
 */
@Slf4j
@Component
class AdminTls implements WebServerFactoryCustomizer<AbstractConfigurableWebServerFactory>, Ordered {

    private static final String PROPERTIES = "management.server.ssl.*";
    /** The name {@code management.server.ssl.*} given without a bundle is registered under, for the Actuator. */
    static final String BUNDLE_NAME = "shepherd-admin";

    @Override
    public void customize(AbstractConfigurableWebServerFactory factory) {
        Ssl ssl = factory.getSsl();
        if (!Ssl.isEnabled(ssl)) {
            return;
        }
        boolean ciphersSet = ssl.getCiphers() != null;
        String ignored = TlsKeys.ignoredBesideBundleWarning(ssl, "management.server.ssl", ciphersSet);
        if (ignored != null) {
            log.warn("{}", ignored);
        }
        if (!ciphersSet) {
            ssl.setCiphers(TlsKeys.DEFAULT_CIPHERS.toArray(String[]::new));
        }
        try {
            SslBundle bundle = WebServerSslBundle.get(ssl, factory.getSslBundles());
            String settings = TlsKeys.optionSettings(ssl, "management.server.ssl");
            String[] protocols = bundle.getOptions().getEnabledProtocols();
            String[] ciphers = bundle.getOptions().getCiphers();
            // Said before the checks, which may fail on what they warn of.
            TlsKeys.optionWarnings(protocols, ciphers, settings).forEach(warning -> log.warn("{}", warning));
            String noSuite = TlsKeys.noSuiteForAnyProtocol(protocols, ciphers, settings);
            if (noSuite != null) {
                throw new IllegalStateException(noSuite);
            }
            check(bundle);
            if (ssl.getBundle() != null && bundle.getOptions().getCiphers() == null) {
                // Tomcat takes a named bundle's options as they are, not server.ssl's ciphers.
                log.warn("management.server.ssl.bundle {} sets no options.ciphers: the admin port offers Tomcat's default "
                        + "suites, CBC and DHE ones among them; set spring.ssl.bundle.<jks|pem>.{}.options.ciphers to "
                        + "the proxy's ({})", ssl.getBundle(), ssl.getBundle(), String.join(",", TlsKeys.DEFAULT_CIPHERS));
            }
            TlsKeys.validityProblems(bundle.getManagers().getKeyManagerFactory(), bundle.getKey().getAlias(), Instant.now())
                    .forEach(problem -> log.warn("{}: {}", PROPERTIES, problem));
            if (ssl.getBundle() != null) {
                factory.setSslBundles(new CheckedReloads(factory.getSslBundles(), ssl.getBundle()));
            } else if (factory.getSslBundles() instanceof SslBundleRegistry registry
                    && !factory.getSslBundles().getBundleNames().contains(BUNDLE_NAME)) {
                // Given as management.server.ssl.* rather than a named bundle: registered under a name of its own,
                // so that the Actuator's ssl health and info cover it, as the proxy's is (an expired admin
                // certificate cuts the command line, the probes and the scraping off).
                registry.registerBundle(BUNDLE_NAME, bundle);
            }
        } catch (RuntimeException | SSLException | GeneralSecurityException ex) {
            throw new InvalidSetting(PROPERTIES, PROPERTIES + " gives the admin port no usable TLS: " + TlsKeys.reason(ex),
                    "Check management.server.ssl.* (the key store or PEM certificate and key, their passwords, "
                            + "ciphers and enabled-protocols, or management.server.ssl.bundle), or remove them to "
                            + "serve the admin API over plain HTTP on its loopback address.");
        }
    }

    /** Its key against its certificate, then a handshake with itself. */
    private static void check(SslBundle bundle) throws SSLException, GeneralSecurityException {
        TlsKeys.checkKeysMatch(bundle.getManagers().getKeyManagerFactory(), bundle.getKey().getAlias());
        handshake(bundle);
    }

    /**
     * The bundles as the servlet container sees them, but for the updates of the admin port's own: one that fails
     * {@link #check} is not handed to the container, which keeps the previous one, as the proxy does. Spring Boot
     * hands any reloaded bundle on: a key written before its certificate (or the wrong one) left the port failing
     * every handshake ("bad signature"), the command line, the probes and the scraping cut off, and no line said why
     * (an attacking helper).
     */
    private static final class CheckedReloads implements SslBundles {

        private final SslBundles bundles;
        private final String name;

        CheckedReloads(SslBundles bundles, String name) {
            this.bundles = bundles;
            this.name = name;
        }

        @Override
        public SslBundle getBundle(String bundleName) {
            return bundles.getBundle(bundleName);
        }

        @Override
        public void addBundleUpdateHandler(String bundleName, Consumer<SslBundle> updateHandler) {
            if (!bundleName.equals(name)) {
                bundles.addBundleUpdateHandler(bundleName, updateHandler);
                return;
            }
            TlsKeys.onReload(bundles, name, bundles.getBundle(name), "The admin port's", "management.server.ssl.bundle",
                    updated -> {
                        check(updated);
                        updateHandler.accept(updated);
                    });
        }

        @Override
        public void addBundleRegisterHandler(BiConsumer<String, SslBundle> registerHandler) {
            bundles.addBundleRegisterHandler(registerHandler);
        }

        @Override
        public List<String> getBundleNames() {
            return bundles.getBundleNames();
        }
    }

    /** A handshake with a client of this JVM's defaults, on the JDK's TLS, as Tomcat serves it. */
    private static void handshake(SslBundle bundle) throws SSLException, GeneralSecurityException {
        SSLEngine server = bundle.createSslContext().createSSLEngine();
        server.setUseClientMode(false);
        if (bundle.getOptions().getCiphers() != null) {
            server.setEnabledCipherSuites(supported(bundle.getOptions().getCiphers(), server.getSupportedCipherSuites()));
        }
        if (bundle.getOptions().getEnabledProtocols() != null) {
            server.setEnabledProtocols(bundle.getOptions().getEnabledProtocols());
        }
        SSLContext clientContext = SSLContext.getInstance("TLS");
        // Trusts any certificate: what is checked is the server's own key and setting.
        clientContext.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
        SSLEngine client = clientContext.createSSLEngine("localhost", 443);
        client.setUseClientMode(true);
        TlsKeys.handshake(server, client);
    }

    /** The names of {@code wanted} the engine knows, as Tomcat keeps them; all of them when it knows none. */
    private static String[] supported(String[] wanted, String[] known) {
        Set<String> knownSet = Set.of(known);
        String[] kept = Arrays.stream(wanted).filter(knownSet::contains).toArray(String[]::new);
        return kept.length == 0 ? wanted : kept;
    }

    @Override
    public int getOrder() {
        // After Spring Boot's customizer, which gives the factory server.ssl.
        return Ordered.LOWEST_PRECEDENCE;
    }
}
