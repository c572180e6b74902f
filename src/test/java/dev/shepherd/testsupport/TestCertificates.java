package dev.shepherd.testsupport;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Self-signed keys for TLS tests, made by the JDK's keytool at test time (no key is kept in the repository). */
public final class TestCertificates {

    public static final String PASSWORD = "changeit";

    private TestCertificates() {
    }

    /** A PKCS#12 key store with one self-signed EC key for localhost and 127.0.0.1, under {@code alias}. */
    public static Path selfSignedKeyStore(Path directory, String alias) throws Exception {
        return selfSignedKeyStore(directory, alias, "-validity", "2");
    }

    /**
     * As {@link #selfSignedKeyStore(Path, String)}, with {@code validity}, keytool's options for it
     * ({@code -startdate -3d -validity 1}: expired).
     */
    public static Path selfSignedKeyStore(Path directory, String alias, String... validity) throws Exception {
        String key = alias + " " + String.join(" ", validity);
        byte[] made = MADE.get(key);
        if (made != null) {
            return Files.write(directory.resolve(alias + ".p12"), made);
        }
        Path keyStore = keytool(directory, alias, validity);
        MADE.putIfAbsent(key, Files.readAllBytes(keyStore));
        return keyStore;
    }

    /**
     * The key stores made so far in this JVM, by alias and validity options: keytool is a JVM of its own (most of a
     * second of CPU), and no test needs two different keys under one alias.
     */
    private static final Map<String, byte[]> MADE = new ConcurrentHashMap<>();

    private static Path keytool(Path directory, String alias, String... validity) throws Exception {
        Path keyStore = directory.resolve(alias + ".p12");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=localhost", "-ext", "san=dns:localhost,ip:127.0.0.1", "-storetype", "PKCS12",
                "-keystore", keyStore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD));
        command.addAll(List.of(validity));
        Process keytool = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(keytool.getInputStream().readAllBytes());
        assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).as(output).isZero();
        return keyStore;
    }

    /**
     * A PKCS#12 key store whose one entry pairs the private key of {@code keys} with the certificate of
     * {@code certificates} (both made by {@link #selfSignedKeyStore}, under their file names' alias): the mistake
     * of giving one certificate's key with another's certificate.
     */
    public static Path mismatchedKeyStore(Path directory, Path keys, Path certificates) throws Exception {
        KeyStore withKey = load(keys);
        KeyStore withCertificate = load(certificates);
        String keyAlias = withKey.aliases().nextElement();
        String certificateAlias = withCertificate.aliases().nextElement();
        KeyStore mismatched = KeyStore.getInstance("PKCS12");
        mismatched.load(null, null);
        mismatched.setKeyEntry("mismatched", withKey.getKey(keyAlias, PASSWORD.toCharArray()), PASSWORD.toCharArray(),
                new Certificate[] {withCertificate.getCertificate(certificateAlias)});
        Path keyStore = directory.resolve("mismatched.p12");
        try (OutputStream out = Files.newOutputStream(keyStore)) {
            mismatched.store(out, PASSWORD.toCharArray());
        }
        return keyStore;
    }

    private static KeyStore load(Path keyStore) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            store.load(in, PASSWORD.toCharArray());
        }
        return store;
    }

    /** A client context that trusts the keys of {@code keyStore} only. */
    public static SSLContext trusting(Path keyStore) throws Exception {
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
