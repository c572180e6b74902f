package dev.shepherd.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.NetUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;

/**
 * The checks a request head passes before anything of it reaches a worker, beyond what Netty's decoder already
 * refuses (malformed lines, bad header names and values, bad or conflicting lengths, a final coding other than
 * chunked). Each failure is a {@link RequestDecoder.Rejected} with the status RFC 9112 and RFC 9110 give for it:
 * <ul>
 *   <li>HTTP major version other than 1: 505 (RFC 9110 §15.6.6);</li>
 *   <li>a request target that is not origin-form, absolute-form (http or https) or {@code *} for OPTIONS (RFC 9112
 *       §3.2), or that holds anything but visible ASCII (a NUL, a raw UTF-8 byte, a fragment): 400;</li>
 *   <li>no {@code Host} in HTTP/1.1, more than one, or an invalid one (RFC 9112 §3.2, RFC 9110 §7.2): 400;</li>
 *   <li>{@code Connection} naming a header the framing or routing depends on (RFC 9110 §7.6.1): 400;</li>
 *   <li>a transfer coding other than chunked (RFC 9112 §6.1, §7): 501;</li>
 *   <li>an expectation other than 100-continue (RFC 9110 §10.1.1): 417.</li>
 * </ul>
 * Stateless; called on the client connection's event loop.
 */
final class RequestValidation {

    /** Headers whose meaning the proxy relies on: a client naming them in Connection would have them dropped. */
    private static final List<String> PROTECTED = List.of("content-length", "transfer-encoding", "host");

    private RequestValidation() {
    }

    /** Throws {@link RequestDecoder.Rejected} when the request must not be forwarded. */
    static void check(HttpRequest request) {
        HttpVersion version = request.protocolVersion();
        if (version.majorVersion() != 1) {
            throw reject(HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED,
                    version.text() + " is not supported here: send HTTP/1.1 or HTTP/1.0");
        }
        checkMethod(request.method().name());
        checkTarget(request.method(), request.uri());
        HttpHeaders headers = request.headers();
        checkHost(headers.getAll(HttpHeaderNames.HOST), version.minorVersion() >= 1);
        for (String connection : headers.getAll(HttpHeaderNames.CONNECTION)) {
            for (String token : connection.split(",")) {
                if (PROTECTED.contains(token.trim().toLowerCase(Locale.ROOT))) {
                    throw reject(HttpResponseStatus.BAD_REQUEST, "Connection must not name " + token.trim()
                            + ": it is not a hop-by-hop header (RFC 9110 §7.6.1)");
                }
            }
        }
        if (headers.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY1) || headers.contains(HttpHeaderNames.SEC_WEBSOCKET_KEY2)) {
            // Netty's decoder gives such a request an 8-byte body that no header announces (the key of the draft
            // WebSocket handshake, hixie-76, replaced by RFC 6455 in 2011): a balancer in front reads the bytes as
            // the start of the next request, which here would reach the worker as this one's body (RFC 9112 §6.3:
            // no length, no body). Refused, with the connection closed, so both sides agree on where requests end
            // (an attacking helper).
            throw reject(HttpResponseStatus.BAD_REQUEST, "Sec-WebSocket-Key1 and Sec-WebSocket-Key2 belong to the "
                    + "draft WebSocket handshake (hixie-76) that RFC 6455 replaced: send Sec-WebSocket-Key");
        }
        int codings = 0;
        for (String line : headers.getAll(HttpHeaderNames.TRANSFER_ENCODING)) {
            for (String coding : line.split(",")) {
                if (coding.isBlank()) {
                    continue; // RFC 9110 §5.6.1: a recipient ignores empty list elements (",chunked" is chunked)
                }
                codings++;
                if (!coding.trim().equalsIgnoreCase("chunked")) {
                    throw reject(HttpResponseStatus.NOT_IMPLEMENTED, "the transfer coding '" + printable(coding.trim(), 40)
                            + "' is not supported: only chunked is (RFC 9112 §7)");
                }
            }
        }
        if (codings == 0 && headers.contains(HttpHeaderNames.TRANSFER_ENCODING)) {
            // Framed by nothing it names, the body's end would be a guess between the proxy and the worker.
            throw reject(HttpResponseStatus.BAD_REQUEST, "Transfer-Encoding names no transfer coding (RFC 9112 §6.1)");
        }
        if (version.minorVersion() >= 1) {
            // Every line and every element of a list counts: a second line used to pass unchecked.
            for (String expectations : headers.getAll(HttpHeaderNames.EXPECT)) {
                for (String expectation : expectations.split(",")) {
                    if (!expectation.trim().equalsIgnoreCase("100-continue")) {
                        throw reject(HttpResponseStatus.EXPECTATION_FAILED,
                                "the only expectation supported is 100-continue");
                    }
                }
            }
        }
    }

    /**
     * A method of capital letters, {@code -} and {@code _}, as nginx takes them: RFC 9110 §9.1 allows any token, but a
     * worker's parser may not (Node's closes on {@code get}), and the {@code 502} it drew counted against a healthy
     * worker towards its ejection ({@code fleet.proxy.outlier-detection}).
     */
    private static void checkMethod(String method) {
        for (int i = 0; i < method.length(); i++) {
            char c = method.charAt(i);
            if ((c < 'A' || c > 'Z') && c != '-' && c != '_') {
                throw reject(HttpResponseStatus.BAD_REQUEST, "the method '" + printable(method, 40) + "' is not "
                        + "accepted: methods are case-sensitive (RFC 9110 §9.1), and only capital letters, - and _ "
                        + "are taken");
            }
        }
    }

    private static void checkTarget(HttpMethod method, String target) {
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '#') {
                throw reject(HttpResponseStatus.BAD_REQUEST, "the request target may hold only visible ASCII characters"
                        + " and no fragment: percent-encode other bytes (RFC 3986, RFC 9112 §3.2)");
            }
        }
        if (target.startsWith("/")) {
            checkPath(target);
            return;
        }
        if (target.equals("*") && method.equals(HttpMethod.OPTIONS)) {
            return;
        }
        try {
            URI uri = new URI(target);
            String scheme = uri.getScheme();
            if (scheme != null && (scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
                    && uri.getRawAuthority() != null && uri.getRawUserInfo() == null && validHost(uri.getRawAuthority())) {
                String path = uri.getRawPath() == null ? "" : uri.getRawPath();
                checkDotSegments(path, path.length());
                return;
            }
        } catch (URISyntaxException ex) {
            // Refused below, like any other target of no known form.
        }
        throw reject(HttpResponseStatus.BAD_REQUEST, "the request target must be a path starting with /, an absolute"
                + " http(s) URI, or * for OPTIONS (RFC 9112 §3.2)");
    }

    /**
     * The path of an origin-form target (up to {@code ?}) refuses the characters RFC 3986 leaves out that every browser
     * sends percent-encoded or rewrites ({@code \ " < > `} and {@code { }}), as Tomcat and HAProxy refuse them: a
     * WHATWG URL parser reads {@code /\evil.example/x} as host {@code evil.example} (Node's {@code new URL(req.url,
     * base)}), and the absolute form already refused them (found by an attacking helper). The query keeps nginx's
     * leniency, where browsers send {@code | ^ [ ] { }} as they are.
     */
    private static void checkPath(String target) {
        int query = target.indexOf('?');
        int end = query < 0 ? target.length() : query;
        for (int i = 0; i < end; i++) {
            if ("\\\"<>`{}".indexOf(target.charAt(i)) >= 0) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "the path may not hold '" + target.charAt(i) + "': "
                        + "percent-encode it (RFC 3986 §2; browsers send it encoded)");
            }
        }
        checkDotSegments(target, end);
    }

    /** A path whose {@code ..} segments climb above its root ({@link DotSegments}): 400, as nginx answers it. */
    private static void checkDotSegments(String path, int end) {
        if (DotSegments.climbsAboveRoot(path, end)) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "the path climbs above its root with '..' segments (RFC 3986 "
                    + "§5.2.4)");
        }
    }

    private static void checkHost(List<String> hosts, boolean required) {
        if (hosts.size() > 1) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "more than one Host header (RFC 9112 §3.2)");
        }
        if (hosts.isEmpty()) {
            if (required) {
                throw reject(HttpResponseStatus.BAD_REQUEST, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)");
            }
            return;
        }
        String host = hosts.get(0).trim();
        if (host.isEmpty() || host.charAt(0) == ':') {
            throw reject(HttpResponseStatus.BAD_REQUEST, "the Host header names no host: an http URI must have one "
                    + "(RFC 9110 §4.2.1)");
        }
        if (!validHost(host)) {
            throw reject(HttpResponseStatus.BAD_REQUEST, "the Host header is not a valid host[:port] (RFC 9110 §7.2)");
        }
    }

    /**
     * {@code uri-host [ ":" port ]} of RFC 3986, as a name or an address is written: an IPv6 address in brackets, or a
     * name of letters, digits, {@code - . _ ~} and percent-encodings (which covers IPv4); a port of at most 65535.
     * An empty name is refused: an http URI must have a host (RFC 9110 §4.2.1), and nginx refuses an empty
     * {@code Host}; an empty port is allowed ({@code x:}, RFC 3986 §3.2.3). RFC 3986's reg-name
     * also admits the sub-delims ({@code ! $ & ' ( ) * + , ; =}), which no DNS name holds: {@code Host: a,b} reached
     * the workers as {@code X-Forwarded-Host: a,b}, a list whose first or last element frameworks pick as they please
     * (found by an attacking helper), so they are refused, as nginx refuses what no host holds. A percent-encoding
     * must be {@code %HH} (RFC 3986 §2.1) of a byte the name could hold as it is, or of a byte of 0x80 and above (an
     * internationalized name in UTF-8, RFC 3986 §3.2.2): a worker that decodes the name gets no byte refused above
     * ({@code a%0d%0ab}, {@code %00} passed, found by an attacking helper). An IPv6 address has no zone
     * ({@code %25eth0}): RFC 9110's {@code uri-host} has none, and it names an interface of the client's host.
     */
    static boolean validHost(String host) {
        int portStart;
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            if (close < 0 || host.lastIndexOf('%', close) >= 0
                    || !NetUtil.isValidIpV6Address(host.substring(1, close))) {
                return false;
            }
            portStart = close + 1;
        } else {
            int colon = host.indexOf(':');
            portStart = colon < 0 ? host.length() : colon;
            if (!validName(host, portStart)) {
                return false;
            }
        }
        if (portStart == host.length()) {
            return true;
        }
        return host.charAt(portStart) == ':' && host.length() - portStart <= 6 && digits(host, portStart + 1)
                && (host.length() - portStart == 1 || Integer.parseInt(host, portStart + 1, host.length(), 10) <= 65535);
    }

    /**
     * Whether {@code host} up to {@code end} is a name of letters, digits, {@code - . _ ~} and their encodings. An
     * encoded byte past ASCII is refused as a raw one is: a name outside ASCII comes as its IDNA A-label
     * ({@code xn--}, RFC 5890), and a worker's IDNA mapping (UTS #46) would read the UTF-8 of a fullwidth {@code ／ ＠ ：}
     * as {@code / @ :} (found by an attacking helper).
     */
    private static boolean validName(String host, int end) {
        if (end == 0) {
            return false;
        }
        for (int i = 0; i < end; i++) {
            char c = host.charAt(i);
            if (c == '%') {
                int high = i + 2 < end ? hexDigit(host.charAt(i + 1)) : -1;
                int low = i + 2 < end ? hexDigit(host.charAt(i + 2)) : -1;
                if (high < 0 || low < 0) {
                    return false;
                }
                c = (char) (high << 4 | low);
                i += 2;
            }
            if (!nameCharacter(c)) {
                return false;
            }
        }
        return true;
    }

    /** The value of an ASCII hex digit, or -1. */
    private static int hexDigit(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                : -1;
    }

    private static boolean nameCharacter(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                || c == '_' || c == '~';
    }

    /**
     * Whether every character of {@code text} from {@code from} on is an ASCII digit (true when there is none). A
     * loop, not a stream: it runs for every request and response, where stream pipelines cost 2.3 % of the master's
     * CPU with a new connection per request.
     */
    static boolean digits(String text, int from) {
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** A client's value as it may be quoted back: printable ASCII, at most {@code max} characters. */
    static String printable(String value, int max) {
        StringBuilder quoted = new StringBuilder(Math.min(value.length(), max));
        for (int i = 0; i < value.length() && quoted.length() < max; i++) {
            char c = value.charAt(i);
            quoted.append(c >= ' ' && c < 0x7f ? c : '?');
        }
        return quoted.toString();
    }

    private static RequestDecoder.Rejected reject(HttpResponseStatus status, String reason) {
        return new RequestDecoder.Rejected(status, reason);
    }
}
