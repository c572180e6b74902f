package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

import java.nio.charset.StandardCharsets;

/**
 * One attempt's response on its way to the client, as {@link UpstreamDecoder} hands it over: interim responses,
 * the head, the body parts, the end. Nothing is aggregated: every part is written to the client as it is read
 * from the worker, and flushed at the end of each read ({@link Exchange#upstreamReadComplete}), so server-sent
 * events, long polls and bodies of unknown length reach the client as the worker sends them. The one exception: a
 * fixed-length head waits for the first part of its body, so that a worker that dies in between has sent the
 * client nothing and the request can still go to another worker.
 *
 * <p>Writes go to the client's pipeline below the request decoder ({@code raw}), as bytes; once the client reads
 * slower than the worker sends, the body's bytes go to a file instead ({@link #divert}, {@link SpooledResponse}),
 * and on to the client from there. Confined to the client's event loop.
 */
final class ResponseRelay {

    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ChannelHandlerContext raw;
    private final RequestHead request;
    private ByteBuf heldHead;
    private ResponseFraming framing;
    private ResponseHead head;
    private boolean started;
    /** Interim responses passed to the client for this request, over all its attempts ({@link #interim}). */
    private int interimsSent;
    /**
     * The bytes after the final response's head passed on to the client's connection, its chunk framing included as
     * nginx's {@code $body_bytes_sent} counts it: the same whether the worker chunked the body or the proxy did.
     */
    private long bodyBytes;
    /** Where the body's bytes go instead of the client's connection ({@link #divert}); null: to the connection. */
    private java.util.function.Consumer<ByteBuf> diverted;

    ResponseRelay(ChannelHandlerContext raw, RequestHead request) {
        this.raw = raw;
        this.request = request;
    }

    /**
     * A 1xx interim response goes on to an HTTP/1.1 client as it came; an HTTP/1.0 client must not get one
     * (RFC 9110 §15.2: a proxy does not forward 1xx to a client that cannot understand it), so it is dropped. At most
     * {@link UpstreamDecoder#MAX_INTERIM_RESPONSES} reach the client for one request, whatever its attempts: the bound
     * holds per response in the decoder, and a worker that sent eight and then failed made a retried request pass
     * 24 on (an attacking helper); those past it are dropped (a client may ignore any 1xx, RFC 9110 §15.2).
     */
    void interim(ResponseHead response, boolean withoutCookies) {
        if (request.http10() || interimsSent >= UpstreamDecoder.MAX_INTERIM_RESPONSES) {
            response.release();
            return;
        }
        interimsSent++;
        ByteBuf lines = withoutCookies ? SetCookieLines.withoutSetCookie(response.lines()) : response.lines();
        raw.writeAndFlush(lines.writeByte('\r').writeByte('\n'));
    }

    /**
     * The final response's head; {@code keepClient}: whether the client connection may stay open after it;
     * {@code setCookie}: a sticky {@code Set-Cookie} line to add ({@link StickySessions}), or null.
     */
    void head(ResponseHead response, boolean keepClient, byte[] setCookie) {
        head = response;
        if (setCookie != null) {
            response.lines().writeBytes(setCookie);
        }
        framing = ResponseFraming.of(response, request.http10(), keepClient);
        if (response.body() == ResponseHead.Body.FIXED) {
            heldHead = response.lines();
            return;
        }
        raw.write(response.lines());
        started = true;
    }

    /** A {@code 101}'s head: the last thing that goes to the client before the tunnel's bytes. */
    void switching(ResponseHead response) {
        ResponseFraming.switching(response);
        raw.writeAndFlush(response.lines());
        started = true;
    }

    void body(ByteBuf part) {
        writeHeldHead();
        bodyBytes += part.readableBytes();
        if (framing.rechunk()) {
            ByteBuf size = raw.alloc().buffer(10);
            size.writeCharSequence(Integer.toHexString(part.readableBytes()), StandardCharsets.US_ASCII);
            size.writeByte('\r').writeByte('\n');
            bodyBytes += size.readableBytes() + 2;
            out(size);
            out(part);
            out(raw.alloc().buffer(2).writeByte('\r').writeByte('\n'));
        } else {
            out(part);
        }
    }

    /** The response ended: the last chunk where the proxy made the chunks. */
    void end() {
        writeHeldHead();
        if (framing.rechunk()) {
            bodyBytes += LAST_CHUNK.length;
            out(raw.alloc().buffer(5).writeBytes(LAST_CHUNK));
        }
    }

    /**
     * From now on the response's bytes go to {@code to} (which releases them), not to the client's connection; null:
     * to the connection again. The caller passes on what {@code to} kept, in order, before it sets null.
     */
    void divert(java.util.function.Consumer<ByteBuf> to) {
        diverted = to;
    }

    private void out(ByteBuf bytes) {
        if (diverted != null) {
            diverted.accept(bytes);
        } else {
            raw.write(bytes);
        }
    }

    private void writeHeldHead() {
        if (heldHead != null) {
            out(heldHead);
            heldHead = null;
            started = true;
        }
    }

    /** Drops a head that was held and never sent (the attempt failed before its body). */
    void discard() {
        if (heldHead != null) {
            heldHead.release();
            heldHead = null;
        }
    }

    /** Whether the head of the final response has arrived. */
    boolean headReceived() {
        return head != null;
    }

    /** Whether part of the final response has been written to the client: then it can only be completed or cut. */
    boolean started() {
        return started;
    }

    int status() {
        return head.status();
    }

    /** The bytes after the final response's head passed on to the client's connection so far, framing included. */
    long bodyBytes() {
        return bodyBytes;
    }

    /** Whether the worker connection can carry another request after this response. */
    boolean reusable() {
        return head.reusable();
    }

    int keepAliveSeconds() {
        return head.keepAliveSeconds();
    }

    /** Whether the client connection stays open after the response, as far as the response goes. */
    boolean keepClient() {
        return framing.keepClient();
    }

    /** Whether the client's body ends with the connection, so that a cut must be a reset to look like one. */
    boolean clientBodyUntilClose() {
        return framing != null && framing.untilClose();
    }
}
