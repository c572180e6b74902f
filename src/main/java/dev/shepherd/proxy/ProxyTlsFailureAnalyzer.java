package dev.shepherd.proxy;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * The startup report when {@code server.ssl.*} gives the proxy no usable TLS: what was wrong, in the innermost
 * words ("keystore password was incorrect"), and what to check, instead of a stack trace of wrappers.
 */
public final class ProxyTlsFailureAnalyzer extends AbstractFailureAnalyzer<ProxyTls.ProxyTlsException> {

    @Override
    protected FailureAnalysis analyze(Throwable root, ProxyTls.ProxyTlsException failure) {
        return new FailureAnalysis(failure.getMessage(), "Check server.ssl.* (server.ssl.bundle and its "
                + "spring.ssl.bundle.*, or the key store or PEM certificate and key, their passwords, "
                + "server.ssl.ciphers and server.ssl.enabled-protocols), or remove every server.ssl.* property to serve "
                + "plain HTTP. See \"TLS on the proxy's port\" in the README.", failure);
    }
}
