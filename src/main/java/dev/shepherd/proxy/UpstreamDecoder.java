package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads a worker's responses and passes them on as bytes: a {@link ResponseHead} (the status line and the
 * end-to-end header lines, copied once), then the body as slices of what was read, then {@link #END}. Nothing is
 * decoded into header objects to be encoded again: the proxy needs only the status, the framing and the
 * {@code Connection} tokens ({@link ResponseHeadParser}), and forwards the rest as it came. A chunked body passes
 * through with its chunk framing and trailers (less the fields that may not be trailers), unless the client speaks
 * HTTP/1.0: then only the data goes on.
 *
 * <p>Framing follows RFC 9112 §6.3 and is strict, because a response read with the wrong length would be handed
 * to the next client of the connection: a malformed status or header line, a status code outside 100 to 599
 * (RFC 9110 §15), obsolete line folding, conflicting {@code Content-Length}s, a transfer coding other than
 * {@code chunked}, a bad chunk size, a head over {@value #MAX_HEAD_BYTES} bytes or a {@code 101} to a request that
 * offered no upgrade end in a {@link DecoderException}, which fails the attempt (a 502, or a retry) and closes the
 * connection; so do bytes that arrive while no request is outstanding (on an idle pooled connection). After a
 * {@code 101} the connection is a tunnel: every byte that follows the head, in the same read or later, goes on as
 * it came, and no end is ever told.
 *
 * <p>A body framed by the end of the connection ends with {@link #END} only when the worker closed it cleanly
 * (RFC 9112 §6.3 and §8): its FIN, seen as {@link ChannelInputShutdownEvent} (the connection allows half-closure),
 * with no exception before it. A reset ({@code ECONNRESET}: an exception fired before the input is shut, on NIO,
 * epoll and io_uring alike, the last with single-shot polls: see {@link ProxyServer#IO_URING_MULTISHOT_POLL}), a
 * failed write that closes the connection, or any other close ends nothing: the connection just goes inactive and
 * the exchange treats the response as cut.
 */
final class UpstreamDecoder extends ByteToMessageDecoder {

    /** Ends each response: after it, the connection can carry another request (if the head said it may). */
    static final Object END = new Object() {
        @Override
        public String toString() {
            return "end of response";
        }
    };

    /**
     * Ends a response that the worker followed with bytes nobody asked for (more than its length said, or a second
     * response): the connection is closed rather than reused, and the bytes are dropped, as nginx does.
     */
    static final Object END_THEN_CLOSE = new Object() {
        @Override
        public String toString() {
            return "end of response, then unexpected bytes";
        }
    };

    static final int MAX_HEAD_BYTES = 32 * 1024;
    /** Interim responses one response may have: a 100 Continue and a few 103 Early Hints are what is seen. */
    static final int MAX_INTERIM_RESPONSES = 8;
    private static final int MAX_CHUNK_LINE = 4 * 1024;
    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private enum State { HEAD, FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILERS, UNTIL_CLOSE, TUNNEL, BROKEN }

    private final ResponseHeadParser parser = new ResponseHeadParser();
    private State state = State.HEAD;
    /** Interim (1xx) responses of the current response so far: bounded, since each is a write to the client. */
    private int interims;
    /** Bytes of the current trailer section so far: bounded like a head, as a worker's endless one went on. */
    private int trailerBytes;
    private boolean headRequest;
    private boolean dechunk;
    private boolean upgradeOffered;
    private long remaining;
    /** No request is outstanding (none yet, or the last response has ended): any byte now is a broken worker. */
    private boolean idle = true;
    /** An exception was seen on this connection: whatever ends its input, the end is not clean. */
    private boolean failed;
    /** The worker closed its side cleanly (a FIN with no exception before it). */
    private boolean cleanEnd;
    /**
     * The worker sent bytes while no request was outstanding, other than line ends or a {@code 408} before its close
     * ({@link #unasked(ByteBuf)}).
     */
    private boolean sentUnasked;

    /**
     * Set before each request is sent: whether it is a HEAD (its response has no body whatever the head says), and
     * whether a chunked body goes to an HTTP/1.0 client and so must lose its chunk framing, and whether the request
     * offered to switch protocols (then a {@code 101} turns the connection into a tunnel).
     */
    void expect(boolean headRequest, boolean dechunk, boolean upgradeOffered) {
        this.headRequest = headRequest;
        this.dechunk = dechunk;
        this.upgradeOffered = upgradeOffered;
        this.idle = false;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            if (idle && in.isReadable()) {
                // A pooled connection must carry nothing between responses; whatever it is, the connection goes.
                sentUnasked |= unasked(in);
                in.skipBytes(in.readableBytes());
                throw ResponseHeadParser.malformed("it sent bytes while no request was outstanding");
            }
            boolean progress = true;
            while (progress && in.isReadable()) {
                progress = read(ctx, in, out);
            }
        } catch (DecoderException ex) {
            state = State.BROKEN;
            throw ex;
        }
    }

    /**
     * Whether the worker sent bytes while no request was outstanding (after a response's end, or on an idle
     * connection) that could have been taken for the answer to a later request: anything but line ends (which a
     * parser skips before a status line) and the {@code 408} some servers send before closing an idle connection.
     */
    boolean sentUnasked() {
        return sentUnasked;
    }

    private static boolean unasked(ByteBuf in) {
        int from = in.readerIndex();
        int to = in.writerIndex();
        while (from < to && (in.getByte(from) == CR || in.getByte(from) == LF)) {
            from++;
        }
        if (from == to) {
            return false;
        }
        String start = in.toString(from, Math.min(to - from, 13), StandardCharsets.ISO_8859_1);
        return !(start.startsWith("HTTP/1.") && start.startsWith(" 408", 8)
                && (start.length() == 12 || " \r\n".indexOf(start.charAt(12)) >= 0));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed = true;
        ctx.fireExceptionCaught(cause);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof ChannelInputShutdownEvent) {
            cleanEnd = !failed;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.isReadable()) {
            decode(ctx, in, out);
        }
        if (state == State.UNTIL_CLOSE && cleanEnd && !failed) {
            end(in, out);
        }
    }

    /** One step; returns false when more bytes are needed. */
    private boolean read(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        switch (state) {
            case HEAD -> {
                return readHead(ctx, in, out);
            }
            case FIXED -> {
                int n = (int) Math.min(remaining, in.readableBytes());
                out.add(in.readRetainedSlice(n));
                remaining -= n;
                if (remaining == 0) {
                    end(in, out);
                }
            }
            case UNTIL_CLOSE, TUNNEL -> out.add(in.readRetainedSlice(in.readableBytes()));
            case BROKEN -> in.skipBytes(in.readableBytes());
            default -> {
                return readChunked(in, out);
            }
        }
        return true;
    }

    private void end(ByteBuf in, List<Object> out) {
        if (in.isReadable()) {
            sentUnasked |= unasked(in);
            out.add(END_THEN_CLOSE);
            state = State.BROKEN;
        } else {
            out.add(END);
            state = State.HEAD;
            idle = true;
        }
    }

    private boolean readHead(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        // Empty lines before a status line are skipped, as Netty's decoder and RFC 9112 §2.2 do for requests.
        while (in.isReadable() && (in.getByte(in.readerIndex()) == CR || in.getByte(in.readerIndex()) == LF)) {
            in.skipBytes(1);
        }
        int from = in.readerIndex();
        int end = ResponseHeadParser.headEnd(in, from, in.writerIndex());
        if (end < 0 && !ResponseHeadParser.mayBeStatusLine(in, from, in.writerIndex())) {
            // An HTTP/0.9-style reply (a body with no status line) waited out the response timeout, 504 after 60 s,
            // holding the worker's slot (found by an attacking helper): its first bytes already tell.
            throw ResponseHeadParser.malformed("status line (the response does not start with HTTP/1.)");
        }
        if (end < 0 && in.readableBytes() <= MAX_HEAD_BYTES) {
            return false;
        }
        if (end < 0 || end - from > MAX_HEAD_BYTES) {
            throw ResponseHeadParser.malformed("its head is longer than " + MAX_HEAD_BYTES + " bytes");
        }
        ResponseHead head = parser.parse(ctx.alloc(), in, from, end, headRequest, upgradeOffered);
        in.readerIndex(end);
        out.add(head);
        if (head.switchesProtocols()) {
            state = State.TUNNEL;
            return true;
        }
        if (head.informational()) {
            if (++interims > MAX_INTERIM_RESPONSES) {
                // Unbounded, a worker's endless 103s became a queued write each to the client: 400 connections of
                // them ran the master's heap out in 3 s (an attacking helper's worker, 2026-12-03).
                head.release();
                out.remove(out.size() - 1);
                throw ResponseHeadParser.malformed("it sent more than " + MAX_INTERIM_RESPONSES
                        + " interim (1xx) responses before its final one");
            }
            return true;
        }
        interims = 0;
        switch (head.body()) {
            case NONE -> end(in, out);
            case FIXED -> {
                remaining = head.contentLength();
                state = State.FIXED;
                if (remaining == 0) {
                    end(in, out);
                }
            }
            case CHUNKED -> state = State.CHUNK_SIZE;
            case UNTIL_CLOSE -> state = State.UNTIL_CLOSE;
        }
        return true;
    }

    /**
     * Reads chunk framing as far as the bytes go. Passed through, everything read goes on as one slice; for an
     * HTTP/1.0 client only the chunks' data does. Returns false when more bytes are needed.
     */
    private boolean readChunked(ByteBuf in, List<Object> out) {
        int pos = in.readerIndex();
        // Passed through from here on: what lies between it and pos goes on, but for trailer lines left out.
        int from = pos;
        int limit = in.writerIndex();
        boolean more = true;
        boolean done = false;
        while (more && !done) {
            switch (state) {
                case CHUNK_SIZE -> {
                    int lf = lineFeed(in, pos, limit, MAX_CHUNK_LINE, "a chunk size line");
                    more = lf >= 0;
                    if (more) {
                        remaining = chunkSize(in, pos, crlfLineEnd(in, pos, lf));
                        pos = lf + 1;
                        state = remaining == 0 ? State.TRAILERS : State.CHUNK_DATA;
                        trailerBytes = 0;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, limit - pos);
                    if (dechunk && n > 0) {
                        out.add(in.retainedSlice(pos, n));
                    }
                    pos += n;
                    remaining -= n;
                    more = remaining == 0;
                    if (more) {
                        state = State.CHUNK_END;
                    }
                }
                case CHUNK_END -> {
                    boolean crlf = limit - pos >= 2 && in.getByte(pos) == CR && in.getByte(pos + 1) == LF;
                    if (!crlf && (limit - pos >= 2 || limit - pos == 1 && in.getByte(pos) != CR)) {
                        throw ResponseHeadParser.malformed("a chunk's data is not followed by CRLF");
                    }
                    more = crlf;
                    if (crlf) {
                        pos += 2;
                        state = State.CHUNK_SIZE;
                    }
                }
                default -> { // TRAILERS: header lines, then a blank line
                    int lf = lineFeed(in, pos, limit, MAX_HEAD_BYTES, "a trailer line");
                    more = lf >= 0;
                    if (more) {
                        trailerBytes += lf + 1 - pos;
                        if (trailerBytes > MAX_HEAD_BYTES) {
                            // Each line was bounded, not their number: 20,000 of 8 KB went on to a client.
                            throw ResponseHeadParser.malformed("its trailer section is longer than " + MAX_HEAD_BYTES
                                    + " bytes");
                        }
                        int lineEnd = crlfLineEnd(in, pos, lf);
                        done = lineEnd == pos;
                        if (!done) {
                            int colon = ResponseHeadParser.headerLine(in, pos, lineEnd);
                            if (!dechunk && !allowedInTrailers(in, pos, colon)) {
                                if (pos > from) {
                                    out.add(in.retainedSlice(from, pos - from));
                                }
                                from = lf + 1;
                            }
                        }
                        pos = lf + 1;
                    }
                }
            }
        }
        if (!dechunk && pos > from) {
            out.add(in.retainedSlice(from, pos - from));
        }
        in.readerIndex(pos);
        if (done) {
            end(in, out);
        }
        return done;
    }

    /**
     * Fields a sender must not put in a trailer section (RFC 9110 §6.5.1: those that frame or route the message,
     * control it, authenticate it, or say how to read its content), lowercase. A worker's trailer field among them is
     * left out of what the client gets: a client or cache that merges trailers into the headers would take a second
     * {@code Content-Length} or {@code Transfer-Encoding}, or a {@code Set-Cookie} that the proxy's own handling of
     * the header's cookies never saw (found by an attacking helper). The rest pass on, as HAProxy passes them
     * (gRPC's {@code grpc-status}, {@code Server-Timing}, digests).
     */
    private static final Set<String> NOT_IN_TRAILERS = Set.of("content-length", "transfer-encoding", "host",
            "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authenticate",
            "proxy-authorization", "authorization", "www-authenticate", "set-cookie", "cookie", "content-type",
            "content-encoding", "content-range", "content-location", "location", "cache-control", "expires", "age",
            "vary", "pragma", "date", "range", "expect", "max-forwards", "retry-after", "strict-transport-security",
            "x-shepherd-error");

    /** Whether the field named by {@code in}'s bytes [start, colon) may pass on in a trailer section. */
    private static boolean allowedInTrailers(ByteBuf in, int start, int colon) {
        return !NOT_IN_TRAILERS.contains(in.toString(start, colon - start, StandardCharsets.ISO_8859_1)
                .toLowerCase(Locale.ROOT));
    }

    /** The LF that ends the line at {@code pos}, or -1 while it is not all there (and not over {@code max} bytes). */
    private static int lineFeed(ByteBuf in, int pos, int limit, int max, String line) {
        int lf = in.indexOf(pos, limit, LF);
        if (lf < 0 && limit - pos > max) {
            throw ResponseHeadParser.malformed(line + " longer than " + max + " bytes");
        }
        return lf;
    }

    /**
     * The end of a line of chunk framing, which must end with CRLF: it goes on to the client as it is, and strict
     * clients refuse a bare LF there.
     */
    private static int crlfLineEnd(ByteBuf in, int start, int lf) {
        if (lf == start || in.getByte(lf - 1) != CR) {
            throw ResponseHeadParser.malformed("a bare LF in the chunk framing");
        }
        return lf - 1;
    }

    private static long chunkSize(ByteBuf in, int start, int end) {
        long size = 0;
        int i = start;
        for (; i < end && Character.digit(in.getByte(i), 16) >= 0; i++) {
            if (i - start >= 15) {
                throw ResponseHeadParser.malformed("a chunk size of more than 15 hex digits");
            }
            size = size * 16 + Character.digit(in.getByte(i), 16);
        }
        int digits = i;
        while (i < end && (in.getByte(i) == ' ' || in.getByte(i) == '\t')) {
            i++; // RFC 9112 §7.1.1: white space only before an extension's ';' ("5 0" is no chunk size)
        }
        byte after = i < end ? in.getByte(i) : (byte) ';';
        if (digits == start || after != ';' || !ResponseHeadParser.text(in, i, end)) {
            throw ResponseHeadParser.malformed("chunk size line '"
                    + in.toString(start, Math.min(end - start, 64), StandardCharsets.ISO_8859_1) + "'");
        }
        return size;
    }
}
