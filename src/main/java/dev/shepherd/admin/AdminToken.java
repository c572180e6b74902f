package dev.shepherd.admin;

import dev.shepherd.InvalidSetting;
import jakarta.servlet.http.HttpServletRequest;
import lombok.extern.slf4j.Slf4j;
import org.springframework.http.HttpHeaders;
import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.authentication.AuthenticationManager;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.web.authentication.AuthenticationConverter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Who calls the admin port. With {@code fleet.admin.token} set, a request authenticates with
 * {@code Authorization: Bearer <token>} (RFC 6750 §2.1; the scheme matched case-insensitively, RFC 9110 §11.1),
 * compared in constant time: both sides are hashed first, so neither the content nor the length of the token leaks
 * through timing. A request without the header stays anonymous, and authorization decides (401 where the token is
 * needed); one with any other {@code Authorization} (another scheme, no token, another token) fails with 401
 * everywhere.
 * Without a token the admin port is bound to loopback, {@link BrowserGuard} has refused other hosts and origins, and
 * a request from a process of the master's user or root's ({@link SocketOwners}) is {@link #LOOPBACK}; any other
 * user's stays anonymous, and authorization refuses it (403) where a token would be needed.
 *
 * <p>A token read from {@code fleet.admin.token-file} follows the file, as Prometheus reads its credentials files
 * anew: when a request offers a token, the file's modification time, size and identity are looked at (at most once
 * per {@link #CHECK_INTERVAL_NANOS}), and a changed file's token replaces the old one at once (a Kubernetes Secret
 * mounted as a volume is rotated by swapping a symbolic link). A changed file that holds no token, holds too much or
 * cannot be read keeps the token in force, with a warning: a rotation half done must not open the API or lock it.
 *
 * <p>Used by any number of request threads at once; holds the token's digest, the file's name and what it last saw of it.
 */
@Slf4j
final class AdminToken implements AuthenticationConverter, AuthenticationManager {

    static final String SCHEME = "Bearer";
    /** The caller when no token is set. */
    static final Authentication LOOPBACK = new Caller("loopback", null, true);
    /** How often, at most, the token file is looked at: 1 s in nanoseconds. */
    static final long CHECK_INTERVAL_NANOS = 1_000_000_000L;

    private volatile byte[] digest;
    /** The token file, or null when the token does not come from one. */
    private final Path file;
    private final LongSupplier nanoTime;
    private final AtomicLong nextCheck;
    /** The token file as it was last read; touched by the one thread that won {@link #nextCheck}. */
    private volatile FileVersion version;
    /** Whose processes call, when there is no token. */
    private final SocketOwners owners;

    /** {@code token}: the configured {@code fleet.admin.token}; null or blank when none is set. */
    AdminToken(String token) {
        this(token, null, System::nanoTime, SocketOwners.ofThisProcess());
    }

    /**
     * {@code token}, read from {@code file} at startup, which is looked at again as requests come (null: never);
     * {@code nanoTime}: {@link System#nanoTime()} but in tests; {@code owners}: who may call without a token.
     */
    AdminToken(String token, Path file, LongSupplier nanoTime, SocketOwners owners) {
        this.owners = owners;
        this.digest = token == null || token.isBlank() ? null : sha256(token.getBytes(StandardCharsets.UTF_8));
        this.file = file;
        this.nanoTime = nanoTime;
        this.nextCheck = new AtomicLong(nanoTime.getAsLong() + CHECK_INTERVAL_NANOS);
        this.version = file == null ? null : FileVersion.of(file);
    }

    boolean required() {
        return digest != null;
    }

    /** Who may call without a token. */
    SocketOwners owners() {
        return owners;
    }

    @Override
    public Authentication convert(HttpServletRequest request) {
        if (digest == null) {
            return owners.admits(request) ? LOOPBACK : null;
        }
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header == null) {
            return null;
        }
        java.util.Enumeration<String> headers = request.getHeaders(HttpHeaders.AUTHORIZATION);
        headers.nextElement();
        if (headers.hasMoreElements()) {
            // Authorization is no list (RFC 9110 §11.6.2): with two, the first decided, so a good token followed by a
            // bad one passed and the reverse did not (a new user's).
            throw new MalformedAuthorizationException("the request has more than one Authorization header");
        }
        int space = header.indexOf(' ');
        String scheme = space < 0 ? header : header.substring(0, space);
        if (!scheme.equalsIgnoreCase(SCHEME)) {
            throw new MalformedAuthorizationException("the Authorization header must use the Bearer scheme");
        }
        String credentials = space < 0 ? "" : header.substring(space + 1).strip();
        if (credentials.isEmpty()) {
            throw new MalformedAuthorizationException("the Authorization header has no token after Bearer");
        }
        return new Caller("token", credentials, false);
    }

    /**
     * An {@code Authorization} header that is not {@code Bearer <token>}: RFC 6750 §3.1's {@code invalid_request},
     * not {@code invalid_token}, which would send a client to look for another token when it is the header's form
     * that is wrong.
     */
    static final class MalformedAuthorizationException extends BadCredentialsException {

        MalformedAuthorizationException(String message) {
            super(message);
        }
    }

    @Override
    public Authentication authenticate(Authentication authentication) throws AuthenticationException {
        if (authentication == LOOPBACK) {
            return LOOPBACK;
        }
        refresh();
        // Tomcat decodes header bytes as ISO-8859-1, so this gives back the bytes the client sent.
        byte[] given = sha256(((String) authentication.getCredentials()).getBytes(StandardCharsets.ISO_8859_1));
        if (digest == null || !MessageDigest.isEqual(digest, given)) {
            throw new BadCredentialsException("wrong token");
        }
        return new Caller("token", null, true);
    }

    /** Reads the token file again when it changed since it was last read, at most once per check interval. */
    private void refresh() {
        if (file == null) {
            return;
        }
        long now = nanoTime.getAsLong();
        long next = nextCheck.get();
        if (now - next < 0 || !nextCheck.compareAndSet(next, now + CHECK_INTERVAL_NANOS)) {
            return;
        }
        FileVersion current = FileVersion.of(file);
        if (Objects.equals(current, version)) {
            return;
        }
        version = current;
        try {
            byte[] rotated = sha256(AdminSecurity.tokenFromFile(file.toString()).getBytes(StandardCharsets.UTF_8));
            if (!MessageDigest.isEqual(rotated, digest)) {
                digest = rotated;
                log.info("fleet.admin.token-file {} changed: its new token is in force, the old one is refused", file);
            }
        } catch (InvalidSetting unusable) {
            log.warn("{}: the token read before stays in force until the file holds a new one", unusable.getMessage());
        }
    }

    /** What tells a changed file: its modification time, size and identity (inode), following links; null when unreadable. */
    private record FileVersion(FileTime modified, long size, Object key) {

        static FileVersion of(Path file) {
            try {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                return new FileVersion(attributes.lastModifiedTime(), attributes.size(), attributes.fileKey());
            } catch (IOException | RuntimeException unreadable) {
                return null;
            }
        }
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
