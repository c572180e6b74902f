package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Where the frames are in one direction of a WebSocket relayed as bytes (RFC 6455 §5.2): the proxy reads only the
 * frame headers, never the payloads, so that it knows when a frame of its own can go in between — the
 * {@code 1001 Going Away} close frame it sends when it ends a tunnel (control frames may come between the frames
 * of a fragmented message, §5.4). Confined to the tunnel's event loop.
 */
final class WebSocketFrames {

    private static final int CLOSE = 0x8;
    /** 1001 Going Away (RFC 6455 §7.4.1): the endpoint is going away, such as a server going down. */
    private static final int GOING_AWAY = 1001;

    /** Header bytes of the current frame read so far (0: at a frame boundary). */
    private int headerRead;
    private int headerLength = 2;
    private final byte[] header = new byte[14];
    /** Payload bytes of the current frame still to come. */
    private long remaining;
    private boolean closeSent;

    /** Follows the frames through {@code bytes} (not consumed). */
    void track(ByteBuf bytes) {
        int pos = bytes.readerIndex();
        int end = bytes.writerIndex();
        while (pos < end) {
            if (remaining > 0) {
                long skip = Math.min(remaining, end - pos);
                remaining -= skip;
                pos += (int) skip;
                continue;
            }
            header[headerRead++] = bytes.getByte(pos++);
            if (headerRead == 2) {
                int length7 = header[1] & 0x7f;
                headerLength = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + ((header[1] & 0x80) != 0 ? 4 : 0);
            }
            if (headerRead >= 2 && headerRead == headerLength) {
                remaining = payloadLength();
                if ((header[0] & 0x0f) == CLOSE) {
                    closeSent = true;
                }
                headerRead = 0;
                headerLength = 2;
            }
        }
    }

    /** Whether a whole frame could go in now: no frame is half relayed, and no close frame went this way yet. */
    boolean atBoundary() {
        return headerRead == 0 && remaining == 0 && !closeSent;
    }

    private long payloadLength() {
        int length7 = header[1] & 0x7f;
        if (length7 < 126) {
            return length7;
        }
        long length = 0;
        for (int i = 0; i < (length7 == 126 ? 2 : 8); i++) {
            length = length << 8 | header[2 + i] & 0xff;
        }
        return length & Long.MAX_VALUE;
    }

    /**
     * A close frame {@code 1001 Going Away} with {@code reason} (at most 123 bytes of it), masked as a client's frame
     * must be (§5.3) when {@code masked}.
     */
    static ByteBuf goingAway(ByteBufAllocator alloc, String reason, boolean masked) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int length = 2 + Math.min(text.length, 123);
        byte[] payload = new byte[length];
        payload[0] = (byte) (GOING_AWAY >> 8);
        payload[1] = (byte) GOING_AWAY;
        System.arraycopy(text, 0, payload, 2, length - 2);
        ByteBuf frame = alloc.buffer(2 + (masked ? 4 : 0) + length);
        frame.writeByte(0x80 | CLOSE).writeByte((masked ? 0x80 : 0) | length);
        if (masked) {
            byte[] key = new byte[4];
            ThreadLocalRandom.current().nextBytes(key);
            frame.writeBytes(key);
            for (int i = 0; i < length; i++) {
                payload[i] ^= key[i & 3];
            }
        }
        return frame.writeBytes(payload);
    }
}
