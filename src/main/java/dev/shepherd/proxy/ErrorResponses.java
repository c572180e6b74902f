package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answers: a status and one short plain-text line that says why, never a stack trace. Made as the
 * bytes of an HTTP/1.1 response, so that they reach the client the way workers' responses do (one write path, no
 * response encoder in the client's pipeline).
 */
final class ErrorResponses {

    private ErrorResponses() {
    }

    /**
     * The response for {@code status} with {@code reason} (UTF-8 text, one line). {@code keepAlive}: the connection
     * stays open ({@code Connection: keep-alive} for an HTTP/1.0 client), else {@code Connection: close};
     * {@code headRequest}: the answer to HEAD, which has the length of the body but not the body (RFC 9110 §9.3.2).
     * 503 carries {@code Retry-After: 1}. The reason may quote the request, so no browser may read it as anything but
     * text ({@code X-Content-Type-Options: nosniff}).
     */
    static ByteBuf of(ByteBufAllocator alloc, HttpResponseStatus status, String reason, boolean keepAlive,
                      boolean http10Client, boolean headRequest) {
        byte[] body = (status.code() + " " + status.reasonPhrase() + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(160).append("HTTP/1.1 ").append(status.code()).append(' ')
                .append(status.reasonPhrase()).append("\r\ncontent-type: text/plain; charset=utf-8\r\n"
                        + "x-content-type-options: nosniff\r\ncontent-length: ")
                .append(body.length).append("\r\nx-shepherd-error: ").append(status.code()).append("\r\n");
        if (status.equals(HttpResponseStatus.SERVICE_UNAVAILABLE)) {
            head.append("retry-after: 1\r\n");
        }
        if (!keepAlive) {
            head.append("connection: close\r\n");
        } else if (http10Client) {
            head.append("connection: keep-alive\r\n");
        }
        head.append("\r\n");
        ByteBuf bytes = alloc.buffer(head.length() + body.length);
        bytes.writeCharSequence(head, StandardCharsets.US_ASCII);
        if (!headRequest) {
            bytes.writeBytes(body);
        }
        return bytes;
    }
}
