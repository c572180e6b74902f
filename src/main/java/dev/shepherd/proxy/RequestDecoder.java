package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.List;

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

    private int state = BEFORE_REQUEST_LINE;
    /** How many bytes past the reader index were already scanned (the decoder left them for lack of a full line). */
    private int scanned;
    private boolean failed;
    /** The last request may switch protocols: nothing more is decoded until it is known whether it did. */
    private boolean paused;
    private boolean upgradeHead;

    RequestDecoder(HttpDecoderConfig config) {
        super(config);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (paused) {
            return;
        }
        if (failed) {
            buffer.skipBytes(buffer.readableBytes());
            return;
        }
        if (state != BODY && folds(buffer)) {
            failed = true;
            buffer.skipBytes(buffer.readableBytes());
            out.add(folded());
            return;
        }
        int before = out.size();
        super.decode(ctx, buffer, out);
        scanned = state == BODY ? 0 : buffer.readableBytes();
        for (int i = before; i < out.size(); i++) {
            Object message = out.get(i);
            if (message instanceof HttpRequest request) {
                upgradeHead = request.protocolVersion().equals(HttpVersion.HTTP_1_1)
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

    /** Whether decoding stopped after a request that may switch protocols (see {@link #resume}). */
    boolean paused() {
        return paused;
    }

    /**
     * Decodes again after a request that could have switched protocols and did not; what was buffered meanwhile is
     * decoded now. Call on the channel's event loop; does nothing when not paused.
     */
    void resume(ChannelHandlerContext ctx) throws Exception {
        if (!paused) {
            return;
        }
        paused = false;
        upgradeHead = false;
        channelRead(ctx, Unpooled.EMPTY_BUFFER);
        channelReadComplete(ctx);
    }

    /** Scans the bytes of the current head not scanned yet; stops at the blank line that ends it. */
    private boolean folds(ByteBuf buffer) {
        int end = buffer.writerIndex();
        for (int i = buffer.readerIndex() + scanned; i < end && state != BODY; i++) {
            byte b = buffer.getByte(i);
            switch (state) {
                // Netty skips control characters and white space before the request line (RFC 9112 §2.2).
                case BEFORE_REQUEST_LINE -> state = skipped(b) ? BEFORE_REQUEST_LINE : REQUEST_LINE;
                case REQUEST_LINE, HEADER_LINE -> state = b == '\n' ? LINE_START : state;
                default -> {
                    if (b == ' ' || b == '\t') {
                        return true;
                    }
                    state = b == '\r' || b == '\n' ? BODY : HEADER_LINE;
                }
            }
        }
        return false;
    }

    /** What Netty skips before a request line: control characters and white space. */
    private static boolean skipped(byte b) {
        int c = b & 0xff;
        return Character.isISOControl(c) || Character.isWhitespace(c);
    }

    private static HttpRequest folded() {
        HttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad-request");
        request.setDecoderResult(DecoderResult.failure(new Rejected(HttpResponseStatus.BAD_REQUEST,
                "obsolete line folding in a header is not accepted (RFC 9112 §5.2)")));
        return request;
    }
}
