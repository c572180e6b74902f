package dev.shepherd.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import io.netty.util.NetUtil;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * A client's request head made ready for a worker, and what the rest of the exchange needs to know of it:
 * hop-by-hop headers dropped, {@code X-Forwarded-*} set as the connection's {@link ForwardedHeaders} decide,
 * {@code Host} kept, HTTP/1.1 with keep-alive towards the worker. An absolute-form target
 * ({@code GET http://other/ HTTP/1.1}) is turned into origin form: the proxy only ever forwards to its own workers,
 * so it is never an open proxy.
 */
final class RequestHead {

    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.TRACE);

    private final HttpRequest request;
    private final boolean keepAlive;
    private final boolean http10;
    private final boolean retriable;
    private final boolean bodyless;
    /** The protocols offered in {@code Upgrade} and passed on to the worker, lowercase; null: no upgrade. */
    private final List<String> upgrade;
    /** The request target and version as the client sent them, before the rewrite (for the access log). */
    private final String clientTarget;
    private final HttpVersion clientVersion;

    private RequestHead(HttpRequest request, boolean keepAlive, boolean http10, boolean retriable, boolean bodyless,
                        List<String> upgrade, String clientTarget, HttpVersion clientVersion) {
        this.request = request;
        this.clientTarget = clientTarget;
        this.clientVersion = clientVersion;
        this.keepAlive = keepAlive;
        this.http10 = http10;
        this.retriable = retriable;
        this.bodyless = bodyless;
        this.upgrade = upgrade;
    }

    /**
     * Checks the request ({@link RequestValidation}) and rewrites its head for a worker. The framing forwarded is the
     * one Netty's decoder parsed, set again after the hop-by-hop headers are gone, so no header a client lists in
     * {@code Connection} can change how the worker reads the body; what the proxy decides from headers (retries)
     * is read after the strip, from what the worker will see. {@code forwarded} is the client connection's.
     *
     * <p>An upgrade (RFC 9110 §7.8: {@code Connection: upgrade} and {@code Upgrade}) is passed on only for an
     * HTTP/1.1 request without a body and only with the offered protocols that are in {@code upgradeProtocols}
     * (lowercase names; a version after a slash is kept); otherwise both headers go like any hop-by-hop header and
     * the worker sees a plain request.
     *
     * <p>An HTTP/1.0 request without {@code Host} gets the authority RFC 9112 §3.3 gives its target URI: the address
     * and port of {@code local}, the proxy's end of the connection. An empty {@code Host} would pass a worker a URI
     * without a host, which the URL parsers of WHATWG and Node refuse: Node's documented
     * {@code new URL(req.url, `http://${req.headers.host}`)} threw in the worker.
     *
     * @param local the proxy's address of the client's connection; not an IP socket: {@code localhost}
     * @throws RequestDecoder.Rejected when the request must be refused, with the status to answer
     */
    static RequestHead prepare(HttpRequest request, ForwardedHeaders forwarded, Set<String> upgradeProtocols,
                               SocketAddress local) {
        RequestValidation.check(request);
        String clientTarget = request.uri();
        HttpVersion clientVersion = request.protocolVersion();
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        boolean http10 = request.protocolVersion().minorVersion() == 0;
        HttpHeaders headers = request.headers();
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        long length = chunked ? -1 : HttpUtil.getContentLength(request, -1L);
        toOriginForm(request);
        String host = headers.get(HttpHeaderNames.HOST);
        boolean bodyless = !chunked && length <= 0;
        List<String> upgrade = http10 || !bodyless ? null : Upgrades.offered(headers, upgradeProtocols);
        Upgrades.checkHandshake(headers, upgrade);
        HopByHop.strip(request);
        frame(headers, chunked, length);
        if (upgrade != null) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
            headers.set(HttpHeaderNames.UPGRADE, String.join(", ", upgrade));
        }
        if (http10 || bodyless) {
            // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored, and the worker, spoken
            // to in HTTP/1.1, would otherwise answer it with an interim response the client cannot read; nor is one
            // sent without content ("a client MUST NOT"), where there is nothing for a worker to wait for.
            headers.remove(HttpHeaderNames.EXPECT);
        }
        if (http10 && host == null) {
            headers.set(HttpHeaderNames.HOST, local instanceof InetSocketAddress inet
                    ? NetUtil.toSocketAddressString(NetUtil.toAddressString(TrustedProxies.unmapped(inet.getAddress())),
                    inet.getPort()) : "localhost");
        }
        boolean retriable = IDEMPOTENT.contains(request.method()) || headers.contains("Idempotency-Key");
        forwarded.apply(headers, host);
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
        return new RequestHead(request, keepAlive, http10, retriable, bodyless, upgrade, clientTarget, clientVersion);
    }

    /** Sets the framing the decoder parsed: chunked, a length, or none (no body). */
    private static void frame(HttpHeaders headers, boolean chunked, long length) {
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
        if (chunked) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        } else if (length >= 0) {
            headers.set(HttpHeaderNames.CONTENT_LENGTH, length);
        }
    }

    private static void toOriginForm(HttpRequest request) {
        String uri = request.uri();
        if (uri.startsWith("/") || uri.equals("*")) {
            return;
        }
        URI target = URI.create(uri);
        if (target.getRawAuthority() != null) {
            request.headers().set(HttpHeaderNames.HOST, target.getRawAuthority());
        }
        boolean emptyPath = target.getRawPath() == null || target.getRawPath().isEmpty();
        if (emptyPath && target.getRawQuery() == null && request.method().equals(HttpMethod.OPTIONS)) {
            // RFC 9112 §3.2.4: the last proxy sends an OPTIONS for a URI with an empty path as "*", a question about
            // the server, not about its root.
            request.setUri("*");
            return;
        }
        String path = emptyPath ? "/" : target.getRawPath();
        request.setUri(target.getRawQuery() == null ? path : path + "?" + target.getRawQuery());
    }

    /** The request target as the client sent it: absolute-form stays absolute (RFC 9112 §3.2.2). */
    String clientTarget() {
        return clientTarget;
    }

    /** The version the client sent: {@code HTTP/1.0} stays, though the worker is spoken to in HTTP/1.1. */
    HttpVersion clientVersion() {
        return clientVersion;
    }

    /** Whether the client speaks HTTP/1.0, and so cannot read a chunked body. */
    boolean http10() {
        return http10;
    }

    boolean isHead() {
        return request.method().equals(HttpMethod.HEAD);
    }

    HttpRequest request() {
        return request;
    }

    boolean keepAlive() {
        return keepAlive;
    }

    /** Whether the request has no body: then the client connection is never paused for it. */
    boolean bodyless() {
        return bodyless;
    }

    /** Whether the request asks the worker to switch protocols: its answer may be {@code 101} and a tunnel. */
    boolean upgrade() {
        return upgrade != null;
    }

    /** Whether the worker may switch to {@code protocol} (a value of its {@code Upgrade}): the client offered it. */
    boolean offered(String protocol) {
        return upgrade != null && Upgrades.contains(upgrade, protocol);
    }

    /** Whether a request that reached a worker may be sent again: idempotent, or carrying an Idempotency-Key. */
    boolean retriable() {
        return retriable;
    }
}
