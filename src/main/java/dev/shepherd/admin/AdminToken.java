package dev.shepherd.admin;

import jakarta.servlet.http.HttpServletRequest;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.authentication.AuthenticationConverter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Who calls the admin port. With {@code fleet.admin.token} set, a request authenticates with
 * {@code Authorization: Bearer <token>} (RFC 6750 §2.1; the scheme matched case-insensitively, RFC 9110 §11.1),
 * compared in constant time: both sides are hashed first, so neither the content nor the length of the token leaks
 * through timing. A request without the header stays anonymous, and authorization decides (401 where the token is
 * needed); one with any other {@code Authorization} (another scheme, another token) fails with 401 everywhere.
 * Without a token every request is {@link #LOOPBACK}: the admin port is then bound to loopback, and
 * {@link BrowserGuard} has refused other hosts and origins.
 *
 * <p>Used by any number of request threads at once; holds nothing but the token's digest.
 */
final class AdminToken implements AuthenticationConverter, AuthenticationManager {

    static final String SCHEME = "Bearer";
    /** The caller when no token is set. */
    static final Authentication LOOPBACK = new Caller("loopback", null, true);

    private final byte[] digest;

    /** {@code token}: the configured {@code fleet.admin.token}; null or blank when none is set. */
    AdminToken(String token) {
        this.digest = token == null || token.isBlank() ? null : sha256(token.getBytes(StandardCharsets.UTF_8));
    }

    boolean required() {
        return digest != null;
    }

    @Override
    public Authentication convert(HttpServletRequest request) {
        if (digest == null) {
            return LOOPBACK;
        }
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null) {
            return null;
        }
        int space = header.indexOf(' ');
        String scheme = space < 0 ? header : header.substring(0, space);
        if (!scheme.equalsIgnoreCase(SCHEME)) {
            throw new BadCredentialsException("the Authorization header must use the Bearer scheme");
        }
        return new Caller("token", space < 0 ? "" : header.substring(space + 1).strip(), false);
    }

    @Override
    public Authentication authenticate(Authentication authentication) throws AuthenticationException {
        if (authentication == LOOPBACK) {
            return LOOPBACK;
        }
        // Tomcat decodes header bytes as ISO-8859-1, so this gives back the bytes the client sent.
        byte[] given = sha256(((String) authentication.getCredentials()).getBytes(StandardCharsets.ISO_8859_1));
        if (digest == null || !MessageDigest.isEqual(digest, given)) {
            throw new BadCredentialsException("wrong token");
        }
        return new Caller("token", null, true);
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("every Java platform has SHA-256", ex);
        }
    }

    /** A caller of the admin port: one who sent the token, or anyone on loopback when none is set. */
    private static final class Caller extends AbstractAuthenticationToken {

        private final String name;
        private final String credentials;

        Caller(String name, String credentials, boolean authenticated) {
            super(List.of());
            this.name = name;
            this.credentials = credentials;
            setAuthenticated(authenticated);
        }

        @Override
        public Object getCredentials() {
            return credentials;
        }

        @Override
        public Object getPrincipal() {
            return name;
        }
    }
}
