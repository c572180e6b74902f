package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The protocol upgrade of RFC 9110 §7.8 as the proxy allows it: which of the protocols a client offers go on to a
 * worker, and whether the protocol a worker switched to was offered. {@code h2c} is never in the allowed set
 * (configuration refuses it): a proxy that forwards an h2c upgrade hands the client a raw HTTP/2 connection to the
 * worker that no longer passes through its request checks ("h2c smuggling").
 */
final class Upgrades {

    private static final String SEC_WEBSOCKET_KEY = "Sec-WebSocket-Key";
    private static final String SEC_WEBSOCKET_ACCEPT = "Sec-WebSocket-Accept";
    /** RFC 6455 §1.3. */
    private static final String WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private Upgrades() {
    }

    /**
     * The offered protocols (each {@code name} or {@code name/version}, lowercase) whose name is in {@code allowed},
     * in the client's order, when {@code Connection} has the {@code upgrade} token; null when nothing is left.
     */
    static List<String> offered(HttpHeaders headers, Set<String> allowed) {
        if (allowed.isEmpty() || !headers.containsValue(HttpHeaderNames.CONNECTION, "upgrade", true)) {
            return null;
        }
        List<String> kept = null;
        for (String value : headers.getAll(HttpHeaderNames.UPGRADE)) {
            for (String token : value.split(",")) {
                String protocol = token.strip().toLowerCase(Locale.ROOT);
                if (!protocol.isEmpty() && allowed.contains(name(protocol))) {
                    if (kept == null) {
                        kept = new ArrayList<>(1);
                    }
                    kept.add(protocol);
                }
            }
        }
        return kept;
    }

    /**
     * Refuses an offer of WebSocket ({@code offered}, from {@link #offered}) whose request has not exactly one
     * {@code Sec-WebSocket-Key}, of 16 bytes in base64 ({@link #isWebSocketKey}): no handshake (RFC 6455 §4.1: a
     * client MUST send one), which a server answers {@code 400} (§4.2.1). Passed on, a worker that switched anyway got
     * the client a {@code 502}, counted against the worker, which any client could make a healthy worker earn
     * ({@link #answersHandshake} refuses that {@code 101}).
     *
     * @throws RequestDecoder.Rejected {@code 400}, naming the header
     */
    static void checkHandshake(HttpHeaders request, List<String> offered) {
        if (offered == null) {
            return;
        }
        for (String protocol : offered) {
            if (isWebSocket(protocol)) {
                List<String> keys = request.getAll(SEC_WEBSOCKET_KEY);
                if (keys.size() != 1) {
                    throw new RequestDecoder.Rejected(HttpResponseStatus.BAD_REQUEST,
                            "a WebSocket handshake carries exactly one Sec-WebSocket-Key (RFC 6455 §4.1), not "
                                    + keys.size());
                }
                if (!isWebSocketKey(keys.get(0))) {
                    throw new RequestDecoder.Rejected(HttpResponseStatus.BAD_REQUEST,
                            "a WebSocket handshake's Sec-WebSocket-Key is 16 bytes in base64 (RFC 6455 §4.1)");
                }
                return;
            }
        }
    }

    /**
     * Whether {@code key} is a nonce of 16 bytes in base64 (RFC 6455 §4.1, §4.2.1 item 5): 22 characters of the base64
     * alphabet and {@code ==}, the check of the {@code ws} library's server (Node). An empty value, two keys joined by
     * a comma, or anything else is no handshake.
     */
    static boolean isWebSocketKey(String key) {
        if (key.length() != 24 || key.charAt(22) != '=' || key.charAt(23) != '=') {
            return false;
        }
        for (int i = 0; i < 22; i++) {
            char c = key.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code chosen} (a worker's {@code Upgrade} value in a {@code 101}: one protocol) is one of
     * {@code offered}, compared without case; a chosen protocol without a version matches an offered one with one.
     */
    static boolean contains(List<String> offered, String chosen) {
        if (chosen == null) {
            return false;
        }
        String protocol = chosen.strip().toLowerCase(Locale.ROOT);
        for (String candidate : offered) {
            if (candidate.equals(protocol) || name(candidate).equals(protocol)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Why the worker's {@code 101} may not open a tunnel for {@code request}, or null when it may: a protocol the
     * client did not offer is the worker's fault (RFC 9110 §7.8), and so is a switch to WebSocket that does not
     * answer the client's handshake ({@link #answersHandshake}); either is answered like a malformed response.
     */
    static String mismatch(RequestHead request, ResponseHead response) {
        if (!request.offered(response.upgrade())) {
            return "the worker switched to a protocol the client did not offer ("
                    + RequestValidation.printable(String.valueOf(response.upgrade()), 40) + ")";
        }
        if (isWebSocket(response.upgrade()) && !answersHandshake(request.request().headers(), response.content())) {
            return "the worker switched to WebSocket without the Sec-WebSocket-Accept that answers the client's key "
                    + "(RFC 6455 §4.2.2)";
        }
        return null;
    }

    /** Whether {@code protocol} (a {@code 101}'s Upgrade value) is WebSocket, with or without a version. */
    static boolean isWebSocket(String protocol) {
        return protocol != null && name(protocol.strip().toLowerCase(Locale.ROOT)).equals("websocket");
    }

    /**
     * Whether a WebSocket {@code 101} answers the client's handshake (RFC 6455 §4.2.2, §1.3): with one
     * {@code Sec-WebSocket-Key} in the request, the response's {@code lines} (its status line and header lines, as
     * {@link ResponseHead} holds them) must carry one {@code Sec-WebSocket-Accept}, the Base64 SHA-1 of the key and
     * the protocol's GUID. A request without exactly one key is no handshake (RFC 6455 §4.1: a client MUST send one),
     * so no {@code 101} to WebSocket answers it: the client chooses whether to send a key, and leaving it out must not
     * skip the check. Without the check, a worker whose endpoint lets a client choose the status (a redirect or health
     * URL that echoes one) opened a raw tunnel to the worker past every request check of the proxy, the "WebSocket
     * smuggling" of a proxy that trusts the status alone.
     */
    static boolean answersHandshake(HttpHeaders request, ByteBuf lines) {
        List<String> keys = request.getAll(SEC_WEBSOCKET_KEY);
        if (keys.size() != 1) {
            return false;
        }
        String accept = null;
        for (String line : lines.toString(StandardCharsets.ISO_8859_1).split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase(SEC_WEBSOCKET_ACCEPT)) {
                if (accept != null) {
                    return false;
                }
                accept = line.substring(colon + 1).strip();
            }
        }
        return accept != null && accept.equals(accept(keys.get(0).strip()));
    }

    /** The {@code Sec-WebSocket-Accept} that answers {@code key} (RFC 6455 §4.2.2 step 5.4). */
    static String accept(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest((key + WEBSOCKET_GUID)
                    .getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-1 is a JDK algorithm every Java platform has", ex);
        }
    }

    private static String name(String protocol) {
        int slash = protocol.indexOf('/');
        return slash < 0 ? protocol : protocol.substring(0, slash);
    }
}
