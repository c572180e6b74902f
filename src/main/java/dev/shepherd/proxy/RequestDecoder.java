package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Netty's request decoder, plus a refusal of obsolete line folding (a header line that starts with a space or a
 * tab), which RFC 9112 §5.2 lets a server reject with 400 and which Netty would silently join to the previous line.
 *
 * <p>The check runs inside the decoder, on the bytes of each request head just before Netty parses them, so it
 * knows exactly where every head begins: the first bytes of the connection, and the first byte after the end of
 * each message Netty emits. Bytes of a body (an indented JSON line, say) are never mistaken for a head, however
 * they are split into packets. A folded head becomes a failed request, which {@link ClientHandler} answers with 400
 * and a closed connection; nothing after it on that connection is decoded.
 *
 * <p>What a client sizes is bounded before Netty turns it into objects: a head whose bytes stay unfinished across
 * reads is counted in {@link UnfinishedHeads}, the proxy-wide limit, and refused with 503 past it; and a pipelined
 * request is not decoded while the one before it is in progress ({@code busy}): decoding pauses at its first byte,
 * what was read is parked undecoded (counted with the unfinished heads), the connection is not read meanwhile, and
 * {@link #resume} goes on when the handler is free. Before that, one read of small pipelined requests was decoded
 * at once into ~16 times its bytes of heap, and 300 connections each sending 60 KB of them ran a 128 MB heap out of
 * memory (measured, 2026-12-02).
 *
 * <p>After a request that may switch protocols (HTTP/1.1 with an {@code Upgrade} header), decoding stops and the
 * connection is not read: what the client sends next is either the next request (the worker did not switch:
 * {@link #resume}) or bytes of the new protocol, which reach the tunnel undecoded when this handler is removed
 * (Netty passes on what it had buffered). Confined to the channel's event loop.
 */
final class RequestDecoder extends HttpRequestDecoder {

    /** Why a request was refused before anything of it reached a worker: its status and a reason for the client. */
    static final class Rejected extends IllegalArgumentException {

        private final HttpResponseStatus status;

        Rejected(HttpResponseStatus status, String reason) {
            super(reason);
            this.status = status;
        }

        HttpResponseStatus status() {
            return status;
        }
    }

    /** Where the scan of the current head is; {@link #BODY} between the end of a head and the end of its message. */
    private static final int BEFORE_REQUEST_LINE = 0;
    private static final int REQUEST_LINE = 1;
    private static final int LINE_START = 2;
    private static final int HEADER_LINE = 3;
    private static final int BODY = 4;
    /** The most small body parts of one read merged into one ({@link #decodeBodyParts}). */
    static final int MAX_PARTS_MERGED = 4096;
    /** The largest body part merged with others, in bytes. */
    static final int SMALL_PART = 512;

    /** What {@link #scan} returns at a folded header line, and at anything but an empty line before a request. */
    private static final int FOLDED = -1;
    private static final int INDENTED = -2;
    private static final int SEPARATED = -3;
    /** The request line's last byte scanned was a CR: the next must be LF. */
    private boolean crInRequestLine;

    private int state = BEFORE_REQUEST_LINE;
    /** How many bytes past the reader index were already scanned (the decoder left them for lack of a full line). */
    private int scanned;
    private boolean failed;
    /**
     * Nothing more is decoded for now: the last request may switch protocols and it is not known yet whether it
     * did, or the next request is pipelined behind one still in progress. Until {@link #resume}.
     */
    private boolean paused;
    private boolean upgradeHead;
    /** Every connection's unfinished heads, and how many bytes of them this connection holds in it. */
    private final UnfinishedHeads heads;
    private long held;
    /** Set by a scan that starts before a request line: where the line begins, or the end of the bytes if not yet. */
    private int lineStart;
    /** While paused: the bytes read since, and how many of them are counted in {@link #heads}. */
    private ByteBuf parked;
    private long parkedHeld;
    /** Whether the connection's handler still has a request in progress, or queued, or is closing. */
    private final BooleanSupplier busy;
    /** The request Netty made of the line of the head being read, until it hands the head on; else null. */
    private HttpRequest lineParsed;
    private final int maxInitialLineLength;

    RequestDecoder(HttpDecoderConfig config, UnfinishedHeads heads, BooleanSupplier busy) {
        super(config);
        this.heads = heads;
        this.busy = busy;
        this.maxInitialLineLength = config.getMaxInitialLineLength();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (failed) {
            buffer.skipBytes(buffer.readableBytes());
            return;
        }
        if (!paused && state == BEFORE_REQUEST_LINE && scanned == 0 && busy.getAsBoolean()) {
            // A pipelined request: decoded only when the one before it is over, so that a client cannot have a
            // whole read's worth of small requests turned into objects at once (16 times their bytes in heap).
            paused = true;
            ctx.channel().config().setAutoRead(false);
        }
        if (paused) {
            park(buffer, out);
            return;
        }
        if (state != BODY) {
            int from = buffer.readerIndex() + scanned;
            boolean beforeLine = state == BEFORE_REQUEST_LINE;
            int to = scan(buffer);
            if (beforeLine) {
                // What comes before a request line (CR, LF, white space) Netty skips and drops: not held.
                from = Math.min(Math.max(from, lineStart), to);
            }
            if (to == FOLDED) {
                fail(buffer, out, HttpResponseStatus.BAD_REQUEST,
                        "obsolete line folding in a header is not accepted (RFC 9112 §5.2)");
                return;
            }
            if (to == SEPARATED) {
                // RFC 9112 §3 lets a recipient split on any white space, and Netty does; nginx and HAProxy refuse,
                // and a front proxy that ends lines at a lone CR would read another request line (an attacking
                // helper's note).
                fail(buffer, out, HttpResponseStatus.BAD_REQUEST, "the parts of the request line are separated by "
                        + "spaces only: no tab, vertical tab, form feed or CR without LF (RFC 9112 §3)");
                return;
            }
            if (to == INDENTED) {
                fail(buffer, out, HttpResponseStatus.BAD_REQUEST,
                        "nothing but empty lines may come before the request line: no white space or control "
                                + "characters (RFC 9112 §2.2)");
                return;
            }
            // The bytes just scanned are the head's: counted before Netty parses them into fields, unless the head
            // ends in them, and is parsed and let go at once.
            if (state != BODY && !heads.hold(to - from)) {
                fail(buffer, out, HttpResponseStatus.SERVICE_UNAVAILABLE, unfinishedHeadsReason());
                return;
            }
            held += state != BODY ? to - from : 0;
        }
        int before = out.size();
        super.decode(ctx, buffer, out);
        if (state == BODY) {
            decodeBodyParts(ctx, buffer, out, before);
        }
        scanned = state == BODY ? 0 : buffer.readableBytes();
        for (int i = before; i < out.size(); i++) {
            Object message = out.get(i);
            if (message instanceof HttpObject object && object.decoderResult().isFailure()) {
                // Netty refused the request (a line or head too long, a bad field, too many): the connection is
                // answered and closed, and what the client sends meanwhile is dropped, not held.
                failed = true;
                releaseHead();
            }
            if (message instanceof HttpRequest request) {
                lineParsed = null;
                releaseHead();
                // HTTP/1.2 is read as HTTP/1.1 (RFC 9110 §2.5), and may switch protocols as well.
                upgradeHead = request.protocolVersion().majorVersion() == 1
                        && request.protocolVersion().minorVersion() >= 1
                        && request.headers().contains(HttpHeaderNames.UPGRADE) && request.decoderResult().isSuccess();
            }
            if (message instanceof LastHttpContent) {
                // Netty returns at the end of every message: the reader index is where the next head starts.
                state = BEFORE_REQUEST_LINE;
                scanned = 0;
                if (upgradeHead) {
                    paused = true;
                    ctx.channel().config().setAutoRead(false);
                }
            }
        }
    }

    /**
     * Decodes the rest of a read's body parts at once and hands them on as one: Netty's decoder gives each chunk of a
     * chunked body as a part of its own, each then passed through the pipeline, the exchange and the body's buffer, so
     * that a client sending 1-byte chunks ({@code 1\r\nx\r\n}, 6 bytes each) cost ~1.3 µs of an event loop per body
     * byte, and eight such clients kept the loops ~120 ms per turn from everyone else's requests (an attacking
     * helper: another client's p99 1.8 s). At most {@link #MAX_PARTS_MERGED} small parts, up to the body's end or
     * anything else (a large part, the last part, a trailer, a failure), which is handed on after them.
     */
    private void decodeBodyParts(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out, int before)
            throws Exception {
        while (buffer.isReadable() && out.size() > before && out.size() - before < MAX_PARTS_MERGED
                && plainPart(out.get(out.size() - 1))) {
            int readable = buffer.readableBytes();
            int size = out.size();
            super.decode(ctx, buffer, out);
            if (buffer.readableBytes() == readable && out.size() == size) {
                break;
            }
        }
        int end = out.size();
        while (end > before && !plainPart(out.get(end - 1))) {
            end--;
        }
        int from = end;
        while (from > before && plainPart(out.get(from - 1))) {
            from--;
        }
        if (end - from < 2) {
            return;
        }
        int bytes = 0;
        for (int i = from; i < end; i++) {
            bytes += ((HttpContent) out.get(i)).content().readableBytes();
        }
        ByteBuf merged = ctx.alloc().buffer(bytes);
        for (int i = from; i < end; i++) {
            HttpContent part = (HttpContent) out.get(i);
            merged.writeBytes(part.content(), part.content().readerIndex(), part.content().readableBytes());
            part.release();
        }
        List<Object> after = new ArrayList<>(out.subList(end, out.size()));
        while (out.size() > from) {
            out.remove(out.size() - 1);
        }
        out.add(new DefaultHttpContent(merged));
        for (Object message : after) {
            out.add(message);
        }
    }

    /**
     * A body part worth merging: neither the last nor a failure, and small ({@value #SMALL_PART} bytes or fewer), so
     * that large parts, whose cost is spread over their bytes, are never copied.
     */
    private static boolean plainPart(Object message) {
        return message instanceof HttpContent part && !(message instanceof LastHttpContent)
                && !(message instanceof HttpMessage) && part.decoderResult().isSuccess()
                && part.content().readableBytes() <= SMALL_PART;
    }

    /**
     * Netty's request, from the request line split into method, target and version; refused when the version's
     * name is not {@code HTTP} in upper case, which Netty would take in any case ({@code http/1.1}) but RFC 9112 §2.3
     * makes case-sensitive, as nginx and HAProxy read it.
     */
    @Override
    protected HttpMessage createMessage(String[] initialLine) throws Exception {
        if (!initialLine[2].startsWith("HTTP/")) {
            throw new Rejected(HttpResponseStatus.BAD_REQUEST, "the protocol must be written HTTP, in upper case "
                    + "(RFC 9112 §2.3): "
                    + RequestValidation.printable(initialLine[2], 16));
        }
        HttpMessage message = super.createMessage(initialLine);
        lineParsed = (HttpRequest) message;
        return message;
    }

    /** The head this connection was reading ended (parsed, refused, or the connection gone): its bytes are given back. */
    private void releaseHead() {
        heads.release(held);
        held = 0;
    }

    /**
     * While paused, moves what was read out of Netty's cumulation into a heap buffer of its size, counted with the
     * unfinished heads: a paused connection does not keep a read buffer of the transport's size (on io_uring up to
     * 64 KB of direct memory), and all of them together stay within the limit. Past it, the connection's next
     * request is refused with 503 (after the one in progress).
     */
    private void park(ByteBuf buffer, List<Object> out) {
        int bytes = buffer.readableBytes();
        if (bytes == 0) {
            return;
        }
        if (!heads.hold(bytes)) {
            paused = false;
            fail(buffer, out, HttpResponseStatus.SERVICE_UNAVAILABLE, unfinishedHeadsReason());
            return;
        }
        parkedHeld += bytes;
        if (parked == null && !buffer.isDirect()) {
            // A heap buffer is, in practice, the bytes parked before, given back by resume() and decoded in part:
            // the rest is kept as a slice of it rather than copied again at every pipelined request.
            parked = buffer.readRetainedSlice(bytes);
        } else if (parked == null) {
            parked = Unpooled.buffer(bytes, bytes).writeBytes(buffer);
        } else {
            // Bytes of a read that was under way when the connection paused: rare, copied once together.
            ByteBuf both = Unpooled.buffer(parked.readableBytes() + bytes, parked.readableBytes() + bytes)
                    .writeBytes(parked).writeBytes(buffer);
            parked.release();
            parked = both;
        }
    }

    /**
     * While paused, a read ends without a message, and Netty's decoder would then ask the channel for more bytes
     * (it takes "nothing decoded" for "a message is incomplete"): the connection would be read on, every read
     * parked. Only the event is passed on; Netty's own bookkeeping of the read resumes with {@link #resume}.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (paused) {
            ctx.fireChannelReadComplete();
            return;
        }
        super.channelReadComplete(ctx);
    }

    private void releaseParked() {
        heads.release(parkedHeld);
        parkedHeld = 0;
        ByteBuf bytes = parked;
        parked = null;
        if (bytes != null) {
            bytes.release();
        }
    }

    private String unfinishedHeadsReason() {
        return "the proxy is reading too many unfinished request heads at once (" + (heads.limit() >> 20) + " MB); "
                + "try again";
    }

    /**
     * Hands on a failed request and drops the rest: the request of the head's line when it was read whole (the
     * access log names it, as nginx's names a refused request's line), else a placeholder, a full request
     * ({@code GET /bad-request}) that {@link ClientHandler} knows for one that names nothing the client sent.
     */
    private void fail(ByteBuf buffer, List<Object> out, HttpResponseStatus status, String reason) {
        failed = true;
        releaseHead();
        releaseParked();
        HttpRequest request = state == LINE_START || state == HEADER_LINE ? lineRead(buffer) : null;
        buffer.skipBytes(buffer.readableBytes());
        if (request == null) {
            request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request");
        }
        request.setDecoderResult(DecoderResult.failure(new Rejected(status, reason)));
        out.add(request);
    }

    /**
     * The request of the current head's line, which was read whole: Netty's, or read here from the buffer when Netty
     * has not parsed it yet (a head refused in the read that brought its line); null when it is no request line.
     * Only on a refusal: requests that pass are never read twice.
     */
    private HttpRequest lineRead(ByteBuf buffer) {
        if (lineParsed != null) {
            return lineParsed;
        }
        int start = buffer.readerIndex();
        while (start < buffer.writerIndex() && skipped(buffer.getByte(start))) {
            start++;
        }
        int end = buffer.indexOf(start, buffer.writerIndex(), (byte) '\n');
        if (end < 0 || end - start > maxInitialLineLength) {
            return null;
        }
        String[] parts = buffer.toString(start, end - start, StandardCharsets.ISO_8859_1).stripTrailing().split(" ");
        try {
            return parts.length == 3 && parts[2].startsWith("HTTP/")
                    ? new DefaultHttpRequest(HttpVersion.valueOf(parts[2]), HttpMethod.valueOf(parts[0]), parts[1])
                    : null;
        } catch (IllegalArgumentException ex) {
            return null;
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) throws Exception {
        try {
            releaseHead();
            ByteBuf bytes = parked;
            if (bytes != null && ctx.channel().isActive()) {
                // Taken out after a switch of protocols: what came after the request is the new protocol's, and
                // goes on as Netty passes on its own buffered bytes.
                parked = null;
                heads.release(parkedHeld);
                parkedHeld = 0;
                ctx.fireChannelRead(bytes);
                ctx.fireChannelReadComplete();
            }
            releaseParked();
        } finally {
            super.handlerRemoved0(ctx);
        }
    }

    /**
     * Whether decoding stopped after a request that may switch protocols, or at a request pipelined behind one in
     * progress (see {@link #resume}).
     */
    boolean paused() {
        return paused;
    }

    /** Whether bytes read are parked undecoded, to be decoded by {@link #resume}. */
    boolean holdsParkedBytes() {
        return parked != null && parked.isReadable();
    }

    /**
     * Decodes again after a request that could have switched protocols and did not, or once the request before a
     * pipelined one is over; the bytes parked meanwhile are decoded now (and parked again if the handler is busy
     * once more). Call on the channel's event loop; does nothing when not paused.
     */
    void resume(ChannelHandlerContext ctx) throws Exception {
        if (!paused) {
            return;
        }
        paused = false;
        upgradeHead = false;
        ByteBuf bytes = parked == null ? Unpooled.EMPTY_BUFFER : parked;
        parked = null;
        heads.release(parkedHeld);
        parkedHeld = 0;
        channelRead(ctx, bytes);
        channelReadComplete(ctx);
    }

    /**
     * Scans the bytes of the current head not scanned yet; stops after the blank line that ends it. Returns the
     * index after the last byte scanned, {@link #FOLDED} at a folded line, or {@link #INDENTED} at white space or a
     * control character other than an empty line's CR LF before the request line (which Netty would skip, and
     * nginx refuses), or {@link #SEPARATED} at white space other than SP in the request line (a tab, VT, FF, or a CR
     * not followed by LF, which Netty would take for a space).
     */
    private int scan(ByteBuf buffer) {
        int end = buffer.writerIndex();
        int i = buffer.readerIndex() + scanned;
        if (state == BEFORE_REQUEST_LINE) {
            lineStart = end;
        }
        for (; i < end && state != BODY; i++) {
            byte b = buffer.getByte(i);
            switch (state) {
                // Empty lines (CR, LF) before the request line are skipped (RFC 9112 §2.2); any other white space or
                // control character there, which Netty would skip too, is refused.
                case BEFORE_REQUEST_LINE -> {
                    if (b != '\r' && b != '\n' && skipped(b)) {
                        return INDENTED;
                    }
                    if (!skipped(b)) {
                        state = REQUEST_LINE;
                        lineStart = i;
                    }
                }
                case REQUEST_LINE -> {
                    if (crInRequestLine && b != '\n' || b == '\t' || b == 0x0B || b == 0x0C) {
                        return SEPARATED;
                    }
                    crInRequestLine = b == '\r';
                    state = b == '\n' ? LINE_START : state;
                }
                case HEADER_LINE -> state = b == '\n' ? LINE_START : state;
                default -> {
                    if (b == ' ' || b == '\t') {
                        return FOLDED;
                    }
                    state = b == '\r' || b == '\n' ? BODY : HEADER_LINE;
                }
            }
        }
        return i;
    }

    /** What Netty skips before a request line: control characters and white space. */
    private static boolean skipped(byte b) {
        int c = b & 0xff;
        return Character.isISOControl(c) || Character.isWhitespace(c);
    }

}
