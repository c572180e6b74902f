package dev.shepherd.admin;

import dev.shepherd.InvalidSetting;
import dev.shepherd.proxy.TlsKeys;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.ssl.SslBundle;
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
import java.util.Set;

/**
 * TLS on the admin port ({@code management.server.ssl.*}, which {@code PortLayout} hands to the servlet container),
 * checked as the proxy's is before the container starts: a private key that does not belong to its certificate, or
 * a setting no client can handshake with, stops startup naming {@code management.server.ssl.*} (such a port started
 * "(https)" and then failed every handshake with "bad signature", and a missing file ended startup in a stack
 * trace); a certificate outside its validity period is warned about. Without {@code management.server.ssl.ciphers}
 * the port offers the proxy's cipher suites, Mozilla's "intermediate" ({@link TlsKeys#DEFAULT_CIPHERS}), where
 * Tomcat's defaults add CBC and DHE suites; a named bundle's options are Tomcat's to take as they are, so one without
 * ciphers is warned about instead.
 */
@Slf4j
@Component
class AdminTls implements WebServerFactoryCustomizer<AbstractConfigurableWebServerFactory>, Ordered {

    private static final String PROPERTIES = "management.server.ssl.*";

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
            TlsKeys.checkKeysMatch(bundle.getManagers().getKeyManagerFactory(), bundle.getKey().getAlias());
            handshake(bundle);
            if (ssl.getBundle() != null && bundle.getOptions().getCiphers() == null) {
                // Tomcat takes a named bundle's options as they are, not server.ssl's ciphers.
                log.warn("management.server.ssl.bundle {} sets no options.ciphers: the admin port offers Tomcat's default "
                        + "suites, CBC and DHE ones among them; set spring.ssl.bundle.<jks|pem>.{}.options.ciphers to "
                        + "the proxy's ({})", ssl.getBundle(), ssl.getBundle(), String.join(",", TlsKeys.DEFAULT_CIPHERS));
            }
            TlsKeys.validityProblems(bundle.getManagers().getKeyManagerFactory(), bundle.getKey().getAlias(), Instant.now())
                    .forEach(problem -> log.warn("{}: {}", PROPERTIES, problem));
        } catch (RuntimeException | SSLException | GeneralSecurityException ex) {
            throw new InvalidSetting(PROPERTIES, PROPERTIES + " gives the admin port no usable TLS: " + TlsKeys.reason(ex),
                    "Check management.server.ssl.* (the key store or PEM certificate and key, their passwords, "
                            + "ciphers and enabled-protocols, or management.server.ssl.bundle), or remove them to "
                            + "serve the admin API over plain HTTP on its loopback address.");
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
