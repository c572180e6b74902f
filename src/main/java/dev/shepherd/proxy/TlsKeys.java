package dev.shepherd.proxy;

import dev.shepherd.TerminalText;
import lombok.extern.slf4j.Slf4j;

import org.springframework.boot.ssl.SslBundle;
import org.springframework.boot.ssl.SslBundleRegistry;
import org.springframework.boot.ssl.SslBundles;
import org.springframework.boot.web.server.Ssl;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Checks of the server keys a TLS setting gives, before any client sees them: that each private key belongs to its
 * certificate (a key paired with another certificate started cleanly and then failed every handshake, "bad
 * signature", on the admin port; on the proxy's the in-memory handshake caught it, but named only the client's
 * alert), whether a certificate is outside its validity period, and which settings a named bundle makes Spring Boot
 * ignore. Any thread.
 */
@Slf4j
public final class TlsKeys {

    /**
     * The cipher suites offered without {@code server.ssl.ciphers}: Mozilla's "intermediate" configuration (TLS 1.3's
     * three; for TLS 1.2, ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only), as Tomcat, Spring Boot's
     * default server, also refuses RSA key exchange ({@code !kRSA}). Netty's own default would add RSA key exchange
     * and CBC suites, which have no forward secrecy. The ones the provider lacks are left out.
     */
    public static final List<String> DEFAULT_CIPHERS = List.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /**
     * The messages of {@code failure}'s chain, each once ("Unable to create key store: …: keystore password was
     * incorrect"), rather than the outermost alone, which names no reason, or a stack trace.
     */
    public static String reason(Throwable failure) {
        StringBuilder reason = new StringBuilder();
        String last = "";
        int depth = 0;
        for (Throwable cause = failure; cause != null && depth++ < 10; cause = cause.getCause()) {
            String message = cause.getMessage();
            if (message == null || message.isBlank() || last.contains(message)) {
                continue;
            }
            reason.append(reason.isEmpty() ? "" : ": ").append(message);
            last = message;
        }
        return reason.toString();
    }

    /**
     * Why {@code protocols} and {@code ciphers} (a port's {@code enabled-protocols} and {@code ciphers}, null when not
     * set; named as {@code settings} followed by either) leave no protocol with a suite, or null: only versions below
     * TLS 1.2 listed (the JDK's "No appropriate protocol"), only TLS 1.3 listed and no TLS 1.3 suite (BoringSSL stopped
     * startup with {@code NO_SUPPORTED_VERSIONS_ENABLED}), or no TLS 1.3 listed and only TLS 1.3 suites. Said before
     * the provider's own error, which names no setting.
     */
    public static String noSuiteForAnyProtocol(String[] protocols, String[] ciphers, String settings) {
        if (protocols != null && protocols.length > 0 && Arrays.stream(protocols)
                .noneMatch(protocol -> protocol.equals("TLSv1.2") || protocol.equals("TLSv1.3"))) {
            return settings + "enabled-protocols allows only " + String.join(", ", Arrays.stream(protocols)
                    .map(TerminalText::safe).toList()) + ", which current clients refuse and the JDK turns off (RFC "
                    + "8996): add TLSv1.2";
        }
        if (protocols == null || ciphers == null || protocols.length == 0 || ciphers.length == 0) {
            return null;
        }
        boolean tls13 = List.of(protocols).contains("TLSv1.3");
        boolean older = Arrays.stream(protocols).anyMatch(protocol -> !protocol.equals("TLSv1.3"));
        long tls13Suites = Arrays.stream(ciphers).filter(TlsKeys::isTls13Suite).count();
        if (tls13 && !older && tls13Suites == 0) {
            return settings + "enabled-protocols allows only TLSv1.3, but " + settings + "ciphers names no TLS 1.3 suite "
                    + "(TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256): add them, or "
                    + "allow TLSv1.2 for the suites named";
        }
        if (!tls13 && tls13Suites == ciphers.length) {
            return settings + "ciphers names only TLS 1.3 suites, but " + settings + "enabled-protocols leaves TLSv1.3 "
                    + "out: add TLSv1.3, or name suites of the versions allowed";
        }
        return null;
    }

    /**
     * A warning when {@code protocols} list TLS 1.3 (or are not set) beside older versions but {@code ciphers} names
     * no TLS 1.3 suite: TLS 1.3 is then not offered at all, on BoringSSL (Netty turns it off) as on the JDK's TLS, which
     * the list does not say. Null otherwise.
     */
    public static String tls13WithoutSuite(String[] protocols, String[] ciphers, String settings) {
        if (ciphers == null || ciphers.length == 0 || protocols != null && !List.of(protocols).contains("TLSv1.3")
                || onlyTls13(protocols) || Arrays.stream(ciphers).anyMatch(TlsKeys::isTls13Suite)) {
            return null; // only TLS 1.3 and no suite for it: noSuiteForAnyProtocol's error
        }
        return settings + "ciphers names no TLS 1.3 suite, so TLS 1.3 is not offered although " + settings
                + "enabled-protocols " + (protocols == null ? "allows it by default" : "lists it") + ": add "
                + "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256, or leave TLSv1.3 out";
    }

    /**
     * The prefix of the settings a port's protocols and suites come from: {@code prefix.} ({@code server.ssl} or
     * {@code management.server.ssl}), or a named bundle's options, which are what count then.
     */
    public static String optionSettings(Ssl ssl, String prefix) {
        return ssl.getBundle() == null ? prefix + "." : "spring.ssl.bundle.<jks|pem>." + ssl.getBundle() + ".options.";
    }

    /** What to warn of in a port's {@code protocols} and {@code ciphers}: {@link #tls13WithoutSuite}, {@link #weakSettings}. */
    public static List<String> optionWarnings(String[] protocols, String[] ciphers, String settings) {
        List<String> warnings = new ArrayList<>();
        String tls13Off = tls13WithoutSuite(protocols, ciphers, settings);
        if (tls13Off != null) {
            warnings.add(tls13Off);
        }
        warnings.addAll(weakSettings(protocols, ciphers, settings));
        return warnings;
    }

    /**
     * Warnings for what {@code protocols} and {@code ciphers} (as set; null: the defaults, which are neither) enable
     * below Mozilla's "intermediate" configuration, whose suites are the default ({@link #DEFAULT_CIPHERS}): TLS 1.0
     * and 1.1 (deprecated by RFC 8996) and suites without forward secrecy or authenticated encryption (RSA key exchange,
     * CBC, 3DES, RC4 and the like). Taken as set, since an operator may need them for old clients, but said once at
     * startup, naming the setting, as testssl.sh would.
     */
    public static List<String> weakSettings(String[] protocols, String[] ciphers, String settings) {
        List<String> warnings = new ArrayList<>();
        if (protocols != null) {
            List<String> old = Arrays.stream(protocols)
                    .filter(protocol -> protocol.equals("TLSv1") || protocol.equals("TLSv1.1") || protocol.startsWith("SSL"))
                    .map(TerminalText::safe).toList();
            if (!old.isEmpty()) {
                warnings.add(settings + "enabled-protocols enables " + String.join(", ", old) + ", deprecated by RFC "
                        + "8996 (browsers refuse them); leave them out unless clients that speak nothing newer need them");
            }
        }
        if (ciphers != null && !onlyTls13(protocols)) {
            // Not the signalling values (RFC 5746's renegotiation SCSV), which are no suites.
            List<String> weak = Arrays.stream(ciphers)
                    .filter(suite -> !isTls13Suite(suite) && !strong(suite) && !suite.endsWith("_SCSV"))
                    .map(TerminalText::safe).toList();
            if (!weak.isEmpty()) {
                warnings.add(settings + "ciphers names suites without forward secrecy or authenticated encryption ("
                        + String.join(", ", weak) + "), which Mozilla's intermediate configuration, the default, "
                        + "leaves out; leave them out unless clients that support nothing better need them");
            }
        }
        return warnings;
    }

    /**
     * Whether a TLS 1.2 suite, in Java's or OpenSSL's names, has forward secrecy (ECDHE or DHE key exchange) and
     * authenticated encryption (GCM, CCM or ChaCha20-Poly1305).
     */
    private static boolean strong(String suite) {
        String name = suite.toUpperCase(java.util.Locale.ROOT);
        boolean forwardSecret = name.startsWith("TLS_ECDHE_") || name.startsWith("TLS_DHE_")
                || name.startsWith("ECDHE-") || name.startsWith("DHE-");
        boolean aead = name.contains("GCM") || name.contains("CCM") || name.contains("CHACHA20");
        return forwardSecret && aead && !name.contains("_ANON_") && !name.contains("NULL");
    }

    /** Whether {@code protocols} (null: the defaults) list TLS 1.3 alone, with which TLS 1.2 suites are never used. */
    private static boolean onlyTls13(String[] protocols) {
        return protocols != null && protocols.length > 0
                && Arrays.stream(protocols).allMatch(protocol -> protocol.equals("TLSv1.3"));
    }

    /** Whether {@code suite} is a TLS 1.3 cipher suite (RFC 8446 §B.4: TLS 1.3's names have no key exchange). */
    static boolean isTls13Suite(String suite) {
        return suite.startsWith("TLS_AES_") || suite.startsWith("TLS_CHACHA20_") || suite.startsWith("TLS_SM4_");
    }

    /** What a port does with a reloaded bundle: takes it, or throws to refuse it, the one it serves staying. */
    @FunctionalInterface
    public interface Reload {
        void take(SslBundle updated) throws Exception;
    }

    /**
     * Handles the reloads of bundle {@code name} for one port, which serves {@code served} now: {@code take} takes a
     * reloaded bundle, logged with the validity warnings startup gives, or refuses it by throwing, logged with why and
     * the bundle served {@linkplain #putBack put back}; the bundle put back is not offered to {@code take} again.
     *
     * @param port the port's name in the log, {@code "The proxy's"} or {@code "The admin port's"}
     * @param setting the property naming the bundle, {@code server.ssl.bundle} or {@code management.server.ssl.bundle}
     */
    public static void onReload(SslBundles bundles, String name, SslBundle served, String port, String setting,
                                Reload take) {
        AtomicReference<SslBundle> current = new AtomicReference<>(served);
        bundles.addBundleUpdateHandler(name, updated -> {
            if (updated == current.get()) {
                return; // put back after a refused reload (below)
            }
            try {
                take.take(updated);
            } catch (Exception ex) {
                log.warn("{} TLS bundle {} ({}) changed but cannot be used; the previous one stays: {}", port, name,
                        setting, reason(ex instanceof ProxyTls.ProxyTlsException ? ex.getCause() : ex));
                putBack(bundles, name, current.get());
                return;
            }
            current.set(updated);
            log.info("{} TLS bundle {} was reloaded: new connections use it", port, name);
            // As at startup: an operator who copies an old certificate back is told, as the ssl health tells whoever
            // looks.
            validityProblems(updated.getManagers().getKeyManagerFactory(), updated.getKey().getAlias(), Instant.now())
                    .forEach(problem -> log.warn("{} {}: {}", setting, name, problem));
        });
    }

    /**
     * Puts the bundle still served back in Spring Boot's registry, which took the refused one before handing it to the
     * update handlers: the Actuator's {@code ssl} health and {@code ssl_chain_expiry_seconds} read the registry, and
     * showed the certificate refused, not the one served (an expiring one hidden behind a refused valid one, or a
     * healthy port reported DOWN). The handlers are told again, with the bundle they already have.
     */
    public static void putBack(SslBundles bundles, String name, SslBundle served) {
        if (bundles instanceof SslBundleRegistry registry) {
            registry.updateBundle(name, served);
        }
    }

    /** The key types a server alias is looked up by (JSSE's names). */
    private static final List<String> KEY_TYPES = List.of("RSA", "EC", "RSASSA-PSS", "EdDSA", "Ed25519", "Ed448", "DSA");
    private static final byte[] PROBE = "shepherd key check".getBytes(StandardCharsets.US_ASCII);

    private TlsKeys() {
    }

    /**
     * The names under {@code prefix} ({@code server.ssl} or {@code management.server.ssl}) that are set beside a
     * named bundle ({@code prefix.bundle}) and that Spring Boot then ignores without a word: its
     * {@code WebServerSslBundle.get} takes the keys, the trust material and the options (ciphers, enabled
     * protocols) from the bundle alone. Empty when no bundle is named.
     *
     * @param ciphersSet whether {@code ciphers} was set by the user (the admin port's default is set in
     *        {@code ssl} before this is asked)
     */
    public static List<String> ignoredBesideBundle(Ssl ssl, String prefix, boolean ciphersSet) {
        if (ssl.getBundle() == null) {
            return List.of();
        }
        Map<String, Object> values = new LinkedHashMap<>();
        values.put("key-store", ssl.getKeyStore());
        values.put("key-store-password", ssl.getKeyStorePassword());
        values.put("key-store-type", ssl.getKeyStoreType());
        values.put("key-store-provider", ssl.getKeyStoreProvider());
        values.put("key-password", ssl.getKeyPassword());
        values.put("key-alias", ssl.getKeyAlias());
        values.put("certificate", ssl.getCertificate());
        values.put("certificate-private-key", ssl.getCertificatePrivateKey());
        values.put("trust-store", ssl.getTrustStore());
        values.put("trust-store-password", ssl.getTrustStorePassword());
        values.put("trust-store-type", ssl.getTrustStoreType());
        values.put("trust-store-provider", ssl.getTrustStoreProvider());
        values.put("trust-certificate", ssl.getTrustCertificate());
        values.put("trust-certificate-private-key", ssl.getTrustCertificatePrivateKey());
        values.put("protocol", "TLS".equals(ssl.getProtocol()) ? null : ssl.getProtocol()); // "TLS": Ssl's default
        values.put("ciphers", ciphersSet ? ssl.getCiphers() : null);
        values.put("enabled-protocols", ssl.getEnabledProtocols());
        List<String> names = new ArrayList<>();
        values.forEach((name, value) -> {
            if (value != null) {
                names.add(prefix + "." + name);
            }
        });
        return names;
    }

    /**
     * The warning for {@link #ignoredBesideBundle}'s names, or null when there are none: which names, why, and
     * where the bundle's own ones go.
     */
    public static String ignoredBesideBundleWarning(Ssl ssl, String prefix, boolean ciphersSet) {
        List<String> ignored = ignoredBesideBundle(ssl, prefix, ciphersSet);
        if (ignored.isEmpty()) {
            return null;
        }
        return String.join(", ", ignored) + (ignored.size() == 1 ? " is" : " are") + " ignored: " + prefix
                + ".bundle names the bundle " + ssl.getBundle() + ", and Spring Boot then takes the keys and options "
                + "from it alone; set them on spring.ssl.bundle.<jks|pem>." + ssl.getBundle() + " (options.ciphers, "
                + "options.enabled-protocols, key.alias, keystore.*, truststore.*) or remove them";
    }

    /**
     * Signs a few bytes with each server key of {@code keys} that is served ({@code alias}'s alone when one is
     * chosen, as {@code key-alias} does; null: every one) and verifies them with its certificate's public key.
     *
     * @throws IllegalStateException "the private key does not match the certificate …", naming the certificate's
     *                               subject and alias, for the first key that does not; or, when {@code alias} names
     *                               no key entry (the key manager matches it exactly: {@code WEB} is not {@code web}),
     *                               saying so with the entries there are
     */
    public static void checkKeysMatch(KeyManagerFactory keys, String alias) {
        List<Alias> served = aliases(keys, alias);
        if (alias != null && served.isEmpty()) {
            throw new IllegalStateException("key-alias " + TerminalText.safe(alias) + " names no key entry of the key "
                    + "store (its key entries: " + String.join(", ", aliases(keys, null).stream()
                    .map(entry -> TerminalText.safe(entry.name())).toList()) + "; an alias is matched exactly)");
        }
        for (Alias entry : served) {
            X509Certificate certificate = entry.chain()[0];
            if (!signs(entry.key(), certificate)) {
                throw new IllegalStateException("the private key does not match the certificate (" + subject(certificate)
                        + ", alias " + TerminalText.safe(entry.name()) + "): give the key the certificate was issued for");
            }
        }
    }

    /**
     * One line for each server certificate of {@code keys} that is served ({@code alias}'s alone when one is chosen;
     * null: every one) and is not valid at {@code now}: expired or not yet valid.
     */
    public static List<String> validityProblems(KeyManagerFactory keys, String alias, Instant now) {
        List<String> problems = new ArrayList<>();
        for (Alias entry : aliases(keys, alias)) {
            X509Certificate certificate = entry.chain()[0];
            String named = "the certificate " + subject(certificate) + " (alias " + TerminalText.safe(entry.name()) + ")";
            if (certificate.getNotAfter().toInstant().isBefore(now)) {
                problems.add(named + " expired at " + certificate.getNotAfter().toInstant() + ": clients refuse it");
            } else if (certificate.getNotBefore().toInstant().isAfter(now)) {
                problems.add(named + " is not valid before " + certificate.getNotBefore().toInstant()
                        + ": clients refuse it until then");
            }
        }
        return problems;
    }

    /**
     * A whole handshake of {@code server} with {@code client}, in memory, on the calling thread: a setting no client
     * can handshake with (cipher or protocol names the provider does not know, only protocols no current client
     * accepts) fails here instead of on every connection.
     *
     * @throws SSLException with the handshake's own reason, or saying it did not finish
     */
    public static void handshake(SSLEngine server, SSLEngine client) throws SSLException {
        ByteBuffer toServer = ByteBuffer.allocate(256 * 1024);
        ByteBuffer toClient = ByteBuffer.allocate(256 * 1024);
        ByteBuffer application = ByteBuffer.allocate(256 * 1024);
        client.beginHandshake();
        server.beginHandshake();
        for (int round = 0; round < 32 && !(done(client) && done(server)); round++) {
            flight(client, server, toServer, application);
            flight(server, client, toClient, application);
            application.clear();
        }
        if (!done(client) || !done(server)) {
            throw new SSLException("a handshake with a client of this JVM's defaults did not finish");
        }
    }

    /** What {@code from} has to send, through {@code wire}, taken in by {@code to}. */
    private static void flight(SSLEngine from, SSLEngine to, ByteBuffer wire, ByteBuffer application) throws SSLException {
        from.wrap(ByteBuffer.allocate(0), wire);
        runTasks(from);
        wire.flip();
        to.unwrap(wire, application);
        wire.compact();
        runTasks(to);
    }

    private static boolean done(SSLEngine engine) {
        SSLEngineResult.HandshakeStatus status = engine.getHandshakeStatus();
        return status == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING
                || status == SSLEngineResult.HandshakeStatus.FINISHED;
    }

    private static void runTasks(SSLEngine engine) {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    private record Alias(String name, PrivateKey key, X509Certificate[] chain) {
    }

    private static List<Alias> aliases(KeyManagerFactory keys, String chosen) {
        List<Alias> found = new ArrayList<>();
        for (KeyManager manager : keys.getKeyManagers()) {
            if (!(manager instanceof X509KeyManager x509)) {
                continue;
            }
            Set<String> names = new LinkedHashSet<>();
            for (String type : KEY_TYPES) {
                String[] aliases = x509.getServerAliases(type, null);
                if (aliases != null) {
                    names.addAll(List.of(aliases));
                }
            }
            for (String name : names) {
                // The JDK's PKIX key manager names an entry "<store>.<entry>.<alias>": both forms are the alias.
                if (chosen != null && !name.equals(chosen) && !name.endsWith("." + chosen)) {
                    continue;
                }
                PrivateKey key = x509.getPrivateKey(name);
                X509Certificate[] chain = x509.getCertificateChain(name);
                if (key != null && chain != null && chain.length > 0) {
                    found.add(new Alias(name, key, chain));
                }
            }
        }
        return found;
    }

    private static boolean signs(PrivateKey key, X509Certificate certificate) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "DSA" -> "SHA256withDSA";
            case "EdDSA", "Ed25519", "Ed448" -> key.getAlgorithm();
            default -> null; // RSASSA-PSS and others: left to the handshake check
        };
        if (algorithm == null) {
            return true;
        }
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(PROBE);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(PROBE);
            return verifier.verify(signature);
        } catch (GeneralSecurityException ex) {
            // A key of one algorithm and a certificate of another (an RSA key, an EC certificate) lands here.
            return false;
        }
    }

    private static String subject(X509Certificate certificate) {
        return TerminalText.safe(certificate.getSubjectX500Principal().getName());
    }
}
