package dev.shepherd.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are never forwarded: the fixed list plus
 * every header named in {@code Connection}, except the forwarded claims ({@link ForwardedHeaders#isClaim}): a client
 * behind a trusted proxy that passes its {@code Connection} on (nginx's usual {@code proxy_set_header Connection
 * $http_connection} for WebSockets) named {@code X-Forwarded-For} there and had the proxy's chain removed, so the
 * worker took the proxy for the client (Traefik's CVE-2024-45410; found by an attacking helper). Traefik, since,
 * ignores those names in {@code Connection}, as Shepherd now does.
 */
final class HopByHop {

    private static final List<AsciiString> HEADERS = List.of(HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE,
            AsciiString.cached("proxy-connection"), HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE);

    /**
     * {@code Proxy}: no HTTP field has that name, and servers that hand headers to the app as CGI variables (WSGI,
     * Rack, PHP, Go's {@code net/http/cgi}) give it as {@code HTTP_PROXY}, which many HTTP client libraries take for
     * their outgoing proxy: a client's {@code Proxy: http://attacker:8080} sent the app's own requests through the
     * attacker ("httpoxy", CVE-2016-5385). Removed from every request, trusted peers' too, as the httpoxy advisories
     * tell nginx ({@code proxy_set_header Proxy ""}) and HAProxy ({@code http-request del-header Proxy}) users to do
     * (found by an attacking helper).
     */
    private static final AsciiString PROXY = AsciiString.cached("proxy");

    /**
     * The hop-by-hop names and those the proxy frames, routes and checks a request by: a WebSocket offer's key and
     * version (RFC 6455 §4.1), and the two keys of the draft before it (hixie-76), whose offer carries 8 bytes
     * after its head that no {@code Content-Length} frames, and which the proxy refuses.
     */
    private static final List<AsciiString> FRAMING = Stream.concat(HEADERS.stream(), Stream.of(
            HttpHeaderNames.CONTENT_LENGTH, HttpHeaderNames.HOST, HttpHeaderNames.EXPECT,
            HttpHeaderNames.SEC_WEBSOCKET_KEY, HttpHeaderNames.SEC_WEBSOCKET_VERSION, HttpHeaderNames.SEC_WEBSOCKET_KEY1,
            HttpHeaderNames.SEC_WEBSOCKET_KEY2)).toList();

    private HopByHop() {
    }

    /**
     * Removes the hop-by-hop headers, {@code Transfer-Encoding} included (the caller sets the framing it parsed
     * again: {@link RequestHead}), and {@link #PROXY}.
     */
    static void strip(HttpMessage message) {
        HttpHeaders headers = message.headers();
        for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : connection.split(",")) {
                String name = token.trim();
                if (!name.isEmpty() && !ForwardedHeaders.isClaim(name)) {
                    headers.remove(name);
                }
            }
        }
        for (AsciiString name : HEADERS) {
            headers.remove(name);
        }
        headers.remove(PROXY);
        removeUnderscoreSpellings(headers, HopByHop::isFraming);
    }

    /**
     * Removes the names that {@code spoofs} says stand, spelt with underscores, for one the proxy relies on:
     * servers that hand headers to the app as CGI variables (WSGI, Rack, PHP) read {@code Transfer_Encoding} or
     * {@code X_Forwarded_For} as the real one. Here, the framing and connection headers ({@code Content_Length},
     * {@code Transfer_Encoding}), which the proxy did not frame the request by, as nginx removes every name with an
     * underscore and gunicorn (since 22) drops them ({@link ForwardedHeaders} removes an untrusted client's claims
     * spelt so the same way).
     */
    static void removeUnderscoreSpellings(HttpHeaders headers, Predicate<String> spoofs) {
        List<CharSequence> spoofed = null;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            CharSequence name = it.next().getKey();
            if (AsciiString.indexOf(name, '_', 0) >= 0 && spoofs.test(name.toString().replace('_', '-'))) {
                if (spoofed == null) {
                    spoofed = new ArrayList<>(1);
                }
                spoofed.add(name);
            }
        }
        if (spoofed != null) {
            spoofed.forEach(headers::remove);
        }
    }

    private static boolean isFraming(String name) {
        for (AsciiString framing : FRAMING) {
            if (framing.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }
}
