package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.net.URI;
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

    private static final byte[] CHUNKED = "transfer-encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = "connection: keep-alive\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final Set<HttpMethod> IDEMPOTENT = Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.OPTIONS,
            HttpMethod.PUT, HttpMethod.DELETE, HttpMethod.TRACE);

    private final HttpRequest request;
    private final boolean keepAlive;
    private final boolean http10;
    private final boolean retriable;
    private final boolean bodyless;

    private RequestHead(HttpRequest request, boolean keepAlive, boolean http10, boolean retriable, boolean bodyless) {
        this.request = request;
        this.keepAlive = keepAlive;
        this.http10 = http10;
        this.retriable = retriable;
        this.bodyless = bodyless;
    }

    /**
     * Checks the request ({@link RequestValidation}) and rewrites its head for a worker. The framing forwarded is the
     * one Netty's decoder parsed, set again after the hop-by-hop headers are gone, so no header a client lists in
     * {@code Connection} can change how the worker reads the body; what the proxy decides from headers (retries)
     * is read after the strip, from what the worker will see. {@code forwarded} is the client connection's.
     *
     * @throws RequestDecoder.Rejected when the request must be refused, with the status to answer
     */
    static RequestHead prepare(HttpRequest request, ForwardedHeaders forwarded) {
        RequestValidation.check(request);
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        boolean http10 = request.protocolVersion().minorVersion() == 0;
        HttpHeaders headers = request.headers();
        boolean chunked = HttpUtil.isTransferEncodingChunked(request);
        long length = chunked ? -1 : HttpUtil.getContentLength(request, -1L);
        toOriginForm(request);
        String host = headers.get(HttpHeaderNames.HOST);
        HopByHop.strip(request);
        frame(headers, chunked, length);
        if (http10) {
            // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored, and the worker, spoken
            // to in HTTP/1.1, would otherwise answer it with an interim response the client cannot read.
            headers.remove(HttpHeaderNames.EXPECT);
            if (host == null) {
                // RFC 9112 §3.2: an HTTP/1.1 request without an authority carries an empty Host.
                headers.set(HttpHeaderNames.HOST, "");
            }
        }
        boolean retriable = IDEMPOTENT.contains(request.method()) || headers.contains("Idempotency-Key");
        forwarded.apply(headers, host);
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
        return new RequestHead(request, keepAlive, http10, retriable, !chunked && length <= 0);
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
        String path = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
        request.setUri(target.getRawQuery() == null ? path : path + "?" + target.getRawQuery());
    }

    /**
     * Ends a worker's response head for the client: adds the framing and {@code Connection} lines it needs and the
     * blank line. Returns whether the client connection stays open after the response.
     */
    boolean prepareResponse(ResponseHead response, boolean keepClient) {
        ByteBuf lines = response.lines();
        boolean keep = keepClient;
        switch (response.body()) {
            // An HTTP/1.0 client cannot read chunks: it gets the data as is, ended by closing (UpstreamDecoder
            // takes the chunk framing off); an HTTP/1.1 client gets an unframed body chunked.
            case CHUNKED, UNTIL_CLOSE -> {
                if (http10) {
                    keep = false;
                } else {
                    lines.writeBytes(CHUNKED);
                }
            }
            case NONE -> {
                // The answer to HEAD, or a 304, tells what the full response would have used; a 204 has no framing.
                if (response.chunked() && !http10 && response.status() != 204) {
                    lines.writeBytes(CHUNKED);
                }
            }
            default -> {
            }
        }
        if (!keep) {
            lines.writeBytes(CLOSE);
        } else if (http10) {
            lines.writeBytes(KEEP_ALIVE);
        }
        lines.writeByte('\r').writeByte('\n');
        return keep;
    }

    /** Whether the response body must be sent in chunks the worker did not make (it is ended by closing). */
    boolean rechunks(ResponseHead response) {
        return response.body() == ResponseHead.Body.UNTIL_CLOSE && !http10;
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

    /** Whether a request that reached a worker may be sent again: idempotent, or carrying an Idempotency-Key. */
    boolean retriable() {
        return retriable;
    }
}
