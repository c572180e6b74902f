package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.DecoderException;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Reads a worker's response head in place (RFC 9112): checks the status line and every header line, reads the
 * framing ({@code Content-Length}, {@code Transfer-Encoding}), the {@code Connection} tokens and the idle timeout
 * of {@code Keep-Alive}, and copies the status line and the end-to-end header lines, each ended by CRLF, into the
 * {@link ResponseHead} it returns.
 * Hop-by-hop headers are left out: the fixed list of RFC 9110 §7.6.1 and every header named in {@code Connection}
 * ({@code Content-Length} stays whatever {@code Connection} says: the body is framed by it). {@code Trailer} is
 * end-to-end (RFC 9110 §6.6.2; RFC 2616's list had it) and passes, as the trailer fields it announces do.
 * {@code X-Shepherd-Error} is left out too: only the proxy's own errors carry it.
 * One per worker connection (it keeps a scratch array), used on that connection's event loop only.
 */
final class ResponseHeadParser {

    private static final byte[] HTTP_11 = "HTTP/1.1".getBytes(StandardCharsets.US_ASCII);

    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final int KEEP = 0;
    private static final int DROP = 1;
    private static final int CONNECTION = 2;
    private static final int CONTENT_LENGTH = 3;
    private static final int TRANSFER_ENCODING = 4;
    private static final int KEEP_ALIVE = 5;
    private static final int UPGRADE = 6;
    private static final byte[][] NAMES = {bytes("connection"), bytes("content-length"), bytes("transfer-encoding"),
            bytes("keep-alive"), bytes("proxy-connection"), bytes("proxy-authenticate"), bytes("proxy-authorization"),
            bytes("te"), bytes("upgrade"), bytes("x-shepherd-error")};
    /** {@code X-Shepherd-Error} marks the proxy's own errors: a worker's would forge one (found by an attacking helper). */
    private static final int[] KINDS = {CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, KEEP_ALIVE, DROP, DROP, DROP,
            DROP, UPGRADE, DROP};
    private static final byte[] TIMEOUT = bytes("timeout");

    /** Room for this many header lines is kept between heads; a longer head's array is given back after it. */
    private static final int KEPT_LINES = 64;

    /** Per header line of the head being read: start, end (before CR LF), colon, kind. */
    private int[] lines = new int[4 * 16];
    private int count;
    private boolean close;
    private boolean keepAlive;
    private Set<String> named;
    private boolean chunked;
    private long contentLength;
    private int keepAliveSeconds;
    private boolean connectionUpgrade;
    private String upgrade;

    /** The index just past the blank line that ends a head starting at {@code from}, or -1 if it is not all there. */
    static int headEnd(ByteBuf in, int from, int limit) {
        int lf = in.indexOf(from, limit, LF);
        while (lf >= 0 && lf + 1 < limit) {
            byte next = in.getByte(lf + 1);
            if (next == LF) {
                return lf + 2;
            }
            if (next == CR) {
                if (lf + 2 >= limit) {
                    return -1;
                }
                if (in.getByte(lf + 2) == LF) {
                    return lf + 3;
                }
            }
            lf = in.indexOf(lf + 1, limit, LF);
        }
        return -1;
    }

    /**
     * Reads the head in {@code [from, end)}; {@code headRequest}: it answers HEAD, so it has no body;
     * {@code upgradeOffered}: the request offered to switch protocols, so a {@code 101} is allowed, if it says
     * {@code Connection: upgrade} and one {@code Upgrade} protocol (RFC 9110 §15.2.2). Whether that protocol was
     * one of those offered is the caller's check.
     */
    ResponseHead parse(ByteBufAllocator alloc, ByteBuf in, int from, int end, boolean headRequest,
                       boolean upgradeOffered) {
        try {
            return read(alloc, in, from, end, headRequest, upgradeOffered);
        } finally {
            if (lines.length > 4 * KEPT_LINES) {
                // A head of thousands of short lines (legal within max-response-head-size) grew the array to 128 KB;
                // kept per pooled connection, 1,000 of them took the master's heap (found by an attacking helper).
                lines = new int[4 * 16];
            }
            named = null;
        }
    }

    /** How many header lines the parser keeps room for between heads (for tests). */
    int roomKept() {
        return lines.length / 4;
    }

    private ResponseHead read(ByteBufAllocator alloc, ByteBuf in, int from, int end, boolean headRequest,
                              boolean upgradeOffered) {
        int lf = in.indexOf(from, end, LF);
        int statusEnd = lineEnd(in, from, lf);
        int status = statusLine(in, from, statusEnd);
        boolean http11 = in.getByte(from + 7) == '1';
        scanHeaderLines(in, lf + 1, end);
        readFraming(in);
        if (status == 101 && !upgradeOffered) {
            throw malformed("101 Switching Protocols to a request that offered no upgrade");
        }
        if (status == 101 && (!connectionUpgrade || upgrade == null || upgrade.isEmpty() || upgrade.contains(","))) {
            throw malformed("101 Switching Protocols without Connection: upgrade and one Upgrade protocol");
        }
        if (!http11 && chunked) {
            // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means its framing cannot be trusted.
            throw malformed("Transfer-Encoding in an HTTP/1.0 response");
        }
        ResponseHead.Body body;
        if (status < 200 || status == 204 || status == 304 || headRequest) {
            body = ResponseHead.Body.NONE;
        } else if (chunked) {
            body = ResponseHead.Body.CHUNKED;
        } else if (contentLength >= 0) {
            body = ResponseHead.Body.FIXED;
        } else {
            body = ResponseHead.Body.UNTIL_CLOSE;
        }
        // A length next to chunked framing is a sign of a confused sender: read the chunks, then let it go.
        boolean reusable = (http11 ? !close : keepAlive) && body != ResponseHead.Body.UNTIL_CLOSE
                && !(chunked && contentLength >= 0);
        ByteBuf bytes = alloc.buffer(end - from + 2 * count + 64);
        // The proxy sends its own version (RFC 9110 §6.2): HTTP/1.1, whatever the worker spoke.
        bytes.writeBytes(HTTP_11).writeBytes(in, from + HTTP_11.length, statusEnd - from - HTTP_11.length)
                .writeByte(CR).writeByte(LF);
        // A 1xx or 204 has no body and carries no framing lines at all (RFC 9112 §6.1, RFC 9110 §8.6).
        copyEndToEndLines(in, bytes, status < 200 || status == 204);
        return new ResponseHead(bytes, status, body, body == ResponseHead.Body.FIXED ? contentLength : -1, reusable,
                chunked, keepAliveSeconds, status == 101 ? upgrade : null);
    }

    private void scanHeaderLines(ByteBuf in, int pos, int end) {
        count = 0;
        while (true) {
            int lf = in.indexOf(pos, end, LF);
            int lineEnd = lineEnd(in, pos, lf);
            if (lineEnd == pos) {
                return;
            }
            if (count * 4 + 4 > lines.length) {
                lines = Arrays.copyOf(lines, lines.length * 2);
            }
            int colon = headerLine(in, pos, lineEnd);
            lines[count * 4] = pos;
            lines[count * 4 + 1] = lineEnd;
            lines[count * 4 + 2] = colon;
            lines[count * 4 + 3] = kind(in, pos, colon);
            count++;
            pos = lf + 1;
        }
    }

    private void readFraming(ByteBuf in) {
        close = false;
        keepAlive = false;
        named = null;
        chunked = false;
        contentLength = -1;
        keepAliveSeconds = -1;
        connectionUpgrade = false;
        upgrade = null;
        int codings = 0;
        for (int i = 0; i < count; i++) {
            int kind = lines[i * 4 + 3];
            if (kind == KEEP || kind == DROP) {
                continue;
            }
            if (kind == UPGRADE) {
                String value = in.toString(lines[i * 4 + 2] + 1, lines[i * 4 + 1] - lines[i * 4 + 2] - 1,
                        StandardCharsets.ISO_8859_1).strip();
                upgrade = upgrade == null ? value : upgrade + "," + value;
                continue;
            }
            if (kind == KEEP_ALIVE) {
                keepAliveTimeout(in, lines[i * 4 + 2] + 1, lines[i * 4 + 1]);
                continue;
            }
            String value = in.toString(lines[i * 4 + 2] + 1, lines[i * 4 + 1] - lines[i * 4 + 2] - 1,
                    StandardCharsets.ISO_8859_1);
            if (kind != CONNECTION && value.replace(',', ' ').isBlank()) {
                throw malformed((kind == CONTENT_LENGTH ? "Content-Length" : "Transfer-Encoding") + " without a value");
            }
            for (String token : value.split(",")) {
                token = token.strip();
                if (token.isEmpty()) {
                    continue;
                }
                if (kind == CONNECTION) {
                    connectionToken(token);
                } else if (kind == TRANSFER_ENCODING) {
                    chunked = token.equalsIgnoreCase("chunked") && ++codings == 1;
                    if (!chunked) {
                        // The worker's value quoted, so that it reaches the master's log and not the client's 502.
                        throw malformed("Transfer-Encoding other than chunked '" + value.strip() + "'");
                    }
                } else {
                    long length = contentLength(token);
                    if (contentLength >= 0 && contentLength != length) {
                        throw malformed("conflicting Content-Length values");
                    }
                    contentLength = length;
                }
            }
        }
    }

    private void connectionToken(String token) {
        if (token.equalsIgnoreCase("close")) {
            close = true;
        } else if (token.equalsIgnoreCase("keep-alive")) {
            keepAlive = true;
        } else if (token.equalsIgnoreCase("upgrade")) {
            connectionUpgrade = true;
        } else {
            if (named == null) {
                named = new HashSet<>(4);
            }
            named.add(token.toLowerCase(Locale.ROOT));
        }
    }

    /**
     * Reads {@code timeout=N} of a {@code Keep-Alive} header value in {@code [start, end)} (RFC 2068 §19.7.1.1; Node
     * sends it on every response, so this allocates nothing). A hint: a parameter that is not {@code timeout=}
     * digits is skipped rather than failing the response.
     */
    private void keepAliveTimeout(ByteBuf in, int start, int end) {
        int pos = start;
        while (pos < end) {
            int comma = in.indexOf(pos, end, (byte) ',');
            int parameterEnd = comma < 0 ? end : comma;
            int equals = in.indexOf(pos, parameterEnd, (byte) '=');
            if (equals >= 0 && equalsLowercase(in, skipSpaces(in, pos, equals), trimSpaces(in, pos, equals), TIMEOUT)) {
                int digits = skipSpaces(in, equals + 1, parameterEnd);
                int digitsEnd = trimSpaces(in, digits, parameterEnd);
                long seconds = digitsEnd > digits ? 0 : -1;
                for (int i = digits; i < digitsEnd && seconds >= 0; i++) {
                    seconds = digit(in.getByte(i)) ? Math.min(Integer.MAX_VALUE, seconds * 10 + in.getByte(i) - '0') : -1;
                }
                if (seconds >= 0) {
                    keepAliveSeconds = (int) seconds;
                }
            }
            pos = parameterEnd + 1;
        }
    }

    private static int skipSpaces(ByteBuf in, int pos, int end) {
        while (pos < end && (in.getByte(pos) == ' ' || in.getByte(pos) == '\t')) {
            pos++;
        }
        return pos;
    }

    private static int trimSpaces(ByteBuf in, int start, int end) {
        while (end > start && (in.getByte(end - 1) == ' ' || in.getByte(end - 1) == '\t')) {
            end--;
        }
        return end;
    }

    /**
     * Copies the end-to-end lines. The length is framing: kept even if {@code Connection} names it, dropped where
     * chunks or no body replace it, and otherwise sent as the one line it was read as, where the first
     * {@code Content-Length} line stood: a length repeated on several lines or in a list (RFC 9112 §6.3, RFC 9110
     * §8.6) reaches the client once, as nginx sends it.
     */
    private void copyEndToEndLines(ByteBuf in, ByteBuf bytes, boolean noBody) {
        boolean lengthSent = chunked || noBody;
        for (int i = 0; i < count; i++) {
            int start = lines[i * 4];
            int colon = lines[i * 4 + 2];
            int kind = lines[i * 4 + 3];
            if (kind == CONTENT_LENGTH && !lengthSent) {
                bytes.writeBytes(in, start, colon - start).writeByte(':').writeByte(' ')
                        .writeCharSequence(Long.toString(contentLength), StandardCharsets.US_ASCII);
                bytes.writeByte(CR).writeByte(LF);
                lengthSent = true;
            } else if (kind == KEEP && (named == null || !isNamed(in, start, colon))) {
                bytes.writeBytes(in, start, lines[i * 4 + 1] - start).writeByte(CR).writeByte(LF);
            }
        }
    }

    private static final byte[] STATUS_PREFIX = bytes("HTTP/1.");

    /** Whether the bytes in {@code [from, limit)} may still begin a status line: they match {@code HTTP/1.} so far. */
    static boolean mayBeStatusLine(ByteBuf in, int from, int limit) {
        for (int i = 0; i < STATUS_PREFIX.length && from + i < limit; i++) {
            if (in.getByte(from + i) != STATUS_PREFIX[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks {@code HTTP/1.x NNN reason} and returns the status code, which must be 100 to 599 (RFC 9110 §15): a
     * client cannot know what another one means, nor whether such a response has a body.
     */
    private static int statusLine(ByteBuf in, int start, int end) {
        int length = end - start;
        boolean valid = length >= 12 && in.getByte(start) == 'H' && in.getByte(start + 1) == 'T'
                && in.getByte(start + 2) == 'T' && in.getByte(start + 3) == 'P' && in.getByte(start + 4) == '/'
                && in.getByte(start + 5) == '1' && in.getByte(start + 6) == '.'
                && (in.getByte(start + 7) == '0' || in.getByte(start + 7) == '1') && in.getByte(start + 8) == ' '
                && digit(in.getByte(start + 9)) && digit(in.getByte(start + 10)) && digit(in.getByte(start + 11))
                && (length == 12 || in.getByte(start + 12) == ' ');
        if (!valid || !text(in, start + 12, end)) {
            throw malformed("status line '" + in.toString(start, Math.min(length, 64), StandardCharsets.ISO_8859_1) + "'");
        }
        int status = (in.getByte(start + 9) - '0') * 100 + (in.getByte(start + 10) - '0') * 10 + in.getByte(start + 11) - '0';
        if (status < 100 || status > 599) {
            throw malformed("status code " + in.toString(start + 9, 3, StandardCharsets.US_ASCII) + ", not 100 to 599");
        }
        return status;
    }

    /** Checks one {@code name: value} line (of a head or of chunked trailers) and returns the colon's index. */
    static int headerLine(ByteBuf in, int start, int end) {
        byte first = in.getByte(start);
        if (first == ' ' || first == '\t') {
            throw malformed("obsolete line folding in a header");
        }
        int colon = start;
        while (colon < end && tokenChar(in.getByte(colon))) {
            colon++;
        }
        if (colon == start || colon == end || in.getByte(colon) != ':') {
            throw malformed("header line '" + in.toString(start, Math.min(end - start, 64), StandardCharsets.ISO_8859_1) + "'");
        }
        if (!text(in, colon + 1, end)) {
            throw malformed("a control character in the value of a header");
        }
        return colon;
    }

    /** The end of a line's content: before its CR LF, or before a bare LF. A CR anywhere else is refused as text. */
    static int lineEnd(ByteBuf in, int start, int lf) {
        return lf > start && in.getByte(lf - 1) == CR ? lf - 1 : lf;
    }

    /** No control character but tab (field values, reason phrases, chunk extensions). */
    static boolean text(ByteBuf in, int start, int end) {
        for (int i = start; i < end; i++) {
            byte b = in.getByte(i);
            if (b >= 0 && b < ' ' && b != '\t' || b == 0x7f) {
                return false;
            }
        }
        return true;
    }

    static DecoderException malformed(String message) {
        return new DecoderException("the worker's response is malformed: " + message);
    }

    private static int kind(ByteBuf in, int start, int colon) {
        for (int i = 0; i < NAMES.length; i++) {
            if (equalsLowercase(in, start, colon, NAMES[i])) {
                return KINDS[i];
            }
        }
        return KEEP;
    }

    /**
     * Whether the header named in {@code [start, colon)} is one {@code Connection} names: one set lookup per line, so a
     * head of thousands of lines and thousands of tokens costs their sum, not their product (it had held an event loop
     * for 1.4 s).
     */
    private boolean isNamed(ByteBuf in, int start, int colon) {
        return named.contains(in.toString(start, colon - start, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT));
    }

    private static boolean equalsLowercase(ByteBuf in, int start, int end, byte[] name) {
        if (end - start != name.length) {
            return false;
        }
        for (int i = 0; i < name.length; i++) {
            byte b = in.getByte(start + i);
            if (b >= 'A' && b <= 'Z') {
                b += 'a' - 'A';
            }
            if (b != name[i]) {
                return false;
            }
        }
        return true;
    }

    /** A loop, not a stream: once per response, where a stream pipeline cost 1.4 % of the master's CPU. */
    private static long contentLength(String token) {
        if (token.length() > 18 || !RequestValidation.digits(token, 0)) {
            throw malformed("Content-Length '" + token + "'");
        }
        return Long.parseLong(token);
    }

    private static boolean digit(byte b) {
        return b >= '0' && b <= '9';
    }

    /** RFC 9110 tchar. */
    private static boolean tokenChar(byte b) {
        return b > ' ' && b < 0x7f && "\"(),/:;<=>?@[\\]{}".indexOf(b) < 0;
    }

    private static byte[] bytes(String name) {
        return name.getBytes(StandardCharsets.US_ASCII);
    }
}
