package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A worker's response head as {@link UpstreamDecoder} read it: the status line and the end-to-end header lines as
 * bytes, ready to be sent on (each line ends with CRLF; the blank line that ends the head is not there yet, so the
 * proxy can add its own framing and {@code Connection} lines), and the facts the proxy acts on.
 */
final class ResponseHead extends DefaultByteBufHolder {

    /** How the body that follows the head is delimited (RFC 9112 §6.3). */
    enum Body { NONE, FIXED, CHUNKED, UNTIL_CLOSE }

    private final int status;
    private final Body body;
    private final long contentLength;
    private final boolean reusable;
    private final boolean chunkedHead;
    private final int keepAliveSeconds;
    private final String upgrade;

    ResponseHead(ByteBuf lines, int status, Body body, long contentLength, boolean reusable, boolean chunkedHead,
                 int keepAliveSeconds, String upgrade) {
        super(lines);
        this.status = status;
        this.body = body;
        this.contentLength = contentLength;
        this.reusable = reusable;
        this.chunkedHead = chunkedHead;
        this.keepAliveSeconds = keepAliveSeconds;
        this.upgrade = upgrade;
    }

    /** Whether the worker switched protocols ({@code 101}): from now on the connection is a tunnel. */
    boolean switchesProtocols() {
        return status == 101;
    }

    /** The protocol a {@code 101} switched to (its one {@code Upgrade} value), else null. */
    String upgrade() {
        return upgrade;
    }

    int status() {
        return status;
    }

    /** A 1xx response other than {@code 101}: the final response follows on the same connection. */
    boolean informational() {
        return status < 200 && status != 101;
    }

    Body body() {
        return body;
    }

    /** The body's length when it is {@link Body#FIXED}, else -1. */
    long contentLength() {
        return contentLength;
    }

    /** Whether the worker connection can carry another request after this response. */
    boolean reusable() {
        return reusable;
    }

    /**
     * Whether the worker said {@code Transfer-Encoding: chunked}, even on a response that has no body (the answer
     * to HEAD tells what a GET would get).
     */
    boolean chunked() {
        return chunkedHead;
    }

    /**
     * How long, in seconds, the worker said it keeps the connection open while idle ({@code Keep-Alive: timeout=N},
     * as Node sends it), or -1 when it did not say.
     */
    int keepAliveSeconds() {
        return keepAliveSeconds;
    }

    /** The status line and end-to-end header lines, CRLF after each; the proxy appends to them. */
    ByteBuf lines() {
        return content();
    }
}
