package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * The {@code Set-Cookie} lines (RFC 6265 §4.1) of a response head as the proxy copied it, and whether it may be
 * stored by a shared cache: the status line, then header lines, CRLF after each. Any thread; allocates only the
 * values it hands out.
 */
final class SetCookieLines {

    private static final byte[] SET_COOKIE = "set-cookie:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CACHE_CONTROL = "cache-control:".getBytes(StandardCharsets.US_ASCII);
    /**
     * The fields a CDN reads instead of {@code Cache-Control}: RFC 9213's, the targeted ones CDNs define for themselves
     * in its pattern (Cloudflare's and Vercel's), and the older {@code Surrogate-Control}.
     */
    private static final byte[][] CDN_CONTROLS = {"cdn-cache-control:".getBytes(StandardCharsets.US_ASCII),
            "cloudflare-cdn-cache-control:".getBytes(StandardCharsets.US_ASCII),
            "vercel-cdn-cache-control:".getBytes(StandardCharsets.US_ASCII),
            "surrogate-control:".getBytes(StandardCharsets.US_ASCII)};

    private SetCookieLines() {
    }

    /** Hands each {@code Set-Cookie} field value, trimmed, to {@code header}, in order. */
    static void forEach(ByteBuf lines, Consumer<String> header) {
        forEach(lines, SET_COOKIE, header);
    }

    /**
     * Whether a shared cache (a CDN) may store the response for every client: its {@code Cache-Control} says
     * {@code public} or {@code s-maxage} (RFC 9111 §5.2.2.9, §5.2.2.10), or a field only CDNs read,
     * {@code CDN-Cache-Control} (RFC 9213) or {@code Surrogate-Control}, grants it a lifetime ({@code max-age},
     * {@code s-maxage} or {@code public}) without {@code no-store} or {@code private}. A directive is known by its name,
     * whatever follows an {@code =} ({@code public="x"} is read as {@code public}, as caches are lenient). A
     * {@code Set-Cookie} added to such a response would be handed to everyone (RFC 9111 §8: it does not stop
     * caching), binding every client to one worker. Plain {@code max-age} or {@code Expires} are not counted: CDNs
     * store no response with a {@code Set-Cookie} unless told to in a field of their own or by {@code public}.
     */
    static boolean sharedCacheable(ByteBuf lines) {
        boolean[] shared = new boolean[1];
        forEach(lines, CACHE_CONTROL, value -> shared[0] |= directives(value, "public", "s-maxage"));
        for (byte[] cdnControl : CDN_CONTROLS) {
            forEach(lines, cdnControl, value -> shared[0] |= directives(value, "public", "s-maxage", "max-age")
                    && !directives(value, "no-store", "private"));
        }
        return shared[0];
    }

    /** Whether the directives of {@code value} (RFC 9111 §5.2) name any of {@code names}, in any case. */
    private static boolean directives(String value, String... names) {
        for (String directive : value.split(",")) {
            int equals = directive.indexOf('=');
            String name = (equals < 0 ? directive : directive.substring(0, equals)).trim();
            for (String wanted : names) {
                if (name.equalsIgnoreCase(wanted)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static void forEach(ByteBuf lines, byte[] name, Consumer<String> header) {
        int end = lines.writerIndex();
        int pos = lineAfter(lines, lines.readerIndex(), end);
        while (pos < end) {
            int next = lineAfter(lines, pos, end);
            int from = pos + name.length;
            int to = next - 2;
            if (isNamed(lines, pos, next, name) && to > from) {
                header.accept(lines.toString(from, to - from, StandardCharsets.ISO_8859_1).trim());
            }
            pos = next;
        }
    }

    /** Whether a {@code Set-Cookie} line sets a cookie named {@code name} (RFC 6265 §5.2: the name before '='). */
    static boolean sets(ByteBuf lines, String name) {
        boolean[] found = new boolean[1];
        forEach(lines, header -> {
            int equals = header.indexOf('=');
            if (equals > 0 && header.substring(0, equals).trim().equals(name)) {
                found[0] = true;
            }
        });
        return found[0];
    }

    /**
     * {@code lines} without their {@code Set-Cookie} lines: {@code lines} itself when it has none, else a new buffer
     * from {@code lines}' allocator, and {@code lines} is released.
     */
    static ByteBuf withoutSetCookie(ByteBuf lines) {
        boolean[] any = new boolean[1];
        forEach(lines, value -> any[0] = true);
        if (!any[0]) {
            return lines;
        }
        ByteBuf kept = lines.alloc().buffer(lines.readableBytes());
        int end = lines.writerIndex();
        int pos = lines.readerIndex();
        while (pos < end) {
            int next = lineAfter(lines, pos, end);
            if (pos == lines.readerIndex() || !isNamed(lines, pos, next, SET_COOKIE)) {
                kept.writeBytes(lines, pos, next - pos);
            }
            pos = next;
        }
        lines.release();
        return kept;
    }

    /** The index after the CRLF that ends the line at {@code pos}; {@code end} when there is none. */
    private static int lineAfter(ByteBuf lines, int pos, int end) {
        int lf = lines.indexOf(pos, end, (byte) '\n');
        return lf < 0 ? end : lf + 1;
    }

    private static boolean isNamed(ByteBuf lines, int pos, int lineEnd, byte[] name) {
        if (lineEnd - pos < name.length) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            if (Character.toLowerCase((char) (lines.getByte(pos + i) & 0xFF)) != name[i]) {
                return false;
            }
        }
        return true;
    }
}
