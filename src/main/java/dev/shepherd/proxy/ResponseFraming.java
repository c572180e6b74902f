package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * How a worker's response is framed for the client (RFC 9112 §6), decided in one place from what
 * {@link ResponseHeadParser} read and what the client speaks: the lines the head gets ({@code Transfer-Encoding},
 * {@code Connection}, the blank line), whether the body is re-chunked (the worker framed it by closing, an HTTP/1.1
 * client gets chunks), de-chunked ({@link UpstreamDecoder} passes only chunk data to an HTTP/1.0 client, whose body
 * then ends with the connection) or passed as it came, and whether the client connection stays open.
 *
 * @param rechunk the body goes to the client in chunks the proxy makes
 * @param untilClose the client's body is ended by closing the connection, so a cut must be a reset
 * @param keepClient the client connection stays open after the response
 */
record ResponseFraming(boolean rechunk, boolean untilClose, boolean keepClient) {

    private static final byte[] CHUNKED = "transfer-encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = "connection: keep-alive\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] UPGRADE = "connection: upgrade\r\nupgrade: ".getBytes(StandardCharsets.US_ASCII);

    /** Whether chunked bodies must lose their chunk framing on the way: the client cannot read chunks. */
    static boolean dechunks(boolean http10Client) {
        return http10Client;
    }

    /**
     * Decides the framing of a final response and ends its head for the client: adds the framing and
     * {@code Connection} lines it needs and the blank line. {@code keepClient}: whether the client connection may
     * stay open as far as the request goes.
     */
    static ResponseFraming of(ResponseHead response, boolean http10Client, boolean keepClient) {
        ByteBuf lines = response.lines();
        boolean keep = keepClient;
        boolean framedByClose = response.body() == ResponseHead.Body.CHUNKED
                || response.body() == ResponseHead.Body.UNTIL_CLOSE;
        if (framedByClose) {
            // An HTTP/1.0 client cannot read chunks: it gets the data as is, ended by closing; an HTTP/1.1 client
            // gets an unframed body chunked.
            if (http10Client) {
                keep = false;
            } else {
                lines.writeBytes(CHUNKED);
            }
        } else if (response.body() == ResponseHead.Body.NONE && response.chunked() && !http10Client
                && response.status() != 204) {
            // The answer to HEAD, or a 304, tells what the full response would have used; a 204 has no framing.
            lines.writeBytes(CHUNKED);
        }
        if (!keep) {
            lines.writeBytes(CLOSE);
        } else if (http10Client) {
            lines.writeBytes(KEEP_ALIVE);
        }
        lines.writeByte('\r').writeByte('\n');
        return new ResponseFraming(response.body() == ResponseHead.Body.UNTIL_CLOSE && !http10Client,
                http10Client && framedByClose, keep);
    }

    /** Ends a {@code 101}'s head: the upgrade it switched to goes on to the client (RFC 9110 §15.2.2). */
    static void switching(ResponseHead response) {
        response.lines().writeBytes(UPGRADE).writeCharSequence(response.upgrade(), StandardCharsets.ISO_8859_1);
        response.lines().writeByte('\r').writeByte('\n').writeByte('\r').writeByte('\n');
    }
}
