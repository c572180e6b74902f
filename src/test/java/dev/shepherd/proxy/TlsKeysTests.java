package dev.shepherd.proxy;

import dev.shepherd.testsupport.TestCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

        TlsKeys.checkKeysMatch(keys);
        assertThat(TlsKeys.validityProblems(keys, Instant.now())).isEmpty();
    }

    /** Such a pair started the admin port "(https)", then every handshake failed with "bad signature". */
    @Test
    void aKeyOfAnotherCertificateIsRefusedSayingSo() throws Exception {
        Path mismatched = TestCertificates.mismatchedKeyStore(directory,
                TestCertificates.selfSignedKeyStore(directory, "one"), TestCertificates.selfSignedKeyStore(directory, "two"));

        assertThatIllegalStateException().isThrownBy(() -> TlsKeys.checkKeysMatch(keys(mismatched)))
                .withMessage("the private key does not match the certificate (CN=localhost): give the key the "
                        + "certificate was issued for");
    }

    @Test
    void aCertificateOutsideItsValidityIsTold() throws Exception {
        KeyManagerFactory expired = keys(TestCertificates.selfSignedKeyStore(directory, "old", "-startdate", "-3d",
                "-validity", "1"));
        KeyManagerFactory future = keys(TestCertificates.selfSignedKeyStore(directory, "new", "-startdate", "+2d",
                "-validity", "5"));

        assertThat(TlsKeys.validityProblems(expired, Instant.now())).singleElement().asString()
                .startsWith("the certificate CN=localhost expired at ").endsWith(": clients refuse it");
        assertThat(TlsKeys.validityProblems(future, Instant.now())).singleElement().asString()
                .startsWith("the certificate CN=localhost is not valid before ");
        TlsKeys.checkKeysMatch(expired);
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
}
