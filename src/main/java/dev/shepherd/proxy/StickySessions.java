package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.cookie.ClientCookieDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import lombok.extern.slf4j.Slf4j;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sticky sessions by a cookie the proxy sets ({@code fleet.proxy.sticky.cookie}, HAProxy's {@code cookie ...
 * insert}): the cookie names a worker's slot (its stable index, {@code SHEPHERD_WORKER_INDEX}) as an opaque token,
 * an HMAC-SHA256 of the index under a random key made when the proxy starts, truncated to 16 bytes and
 * base64url-encoded (22 characters), so that it tells neither a pid nor a port and cannot be forged. The tokens of
 * every index up to {@code fleet.max-workers} are made once; lookups read an immutable map and allocate nothing but
 * the cookie parse (Netty's {@link ServerCookieDecoder#LAX}, RFC 6265 §5.2 as browsers send cookies).
 *
 * <p>A token made under another key (the master restarted), forged or unknown, and a slot with no worker that can
 * take the request ({@link StickySlots}), fall back to normal balancing; the response then sets the cookie again.
 * A value not shaped as a token ({@link #FOREIGN}) is balanced too, and never overwritten. A worker's response that
 * deletes a cookie of the same name ends the binding; once a worker sets one with a value for a request without
 * cookies, the proxy sets its own no more (the name is the application's). Immutable but for that; any thread.
 */
@Slf4j
final class StickySessions {

    /** What a request's cookie said: no cookie of ours. */
    static final int NO_COOKIE = -2;
    /** What a request's cookie said: a value shaped as our tokens that names no slot (forged, or stale). */
    static final int UNKNOWN = -1;
    /**
     * What a request's cookie said: a value not shaped as our tokens, most likely the application's own cookie of
     * the name (see {@link #rebind(int, int, ByteBuf, HttpHeaders)}): balanced, and never overwritten.
     */
    static final int FOREIGN = -3;
    private static final int TOKEN_BYTES = 16;
    /** {@link #TOKEN_BYTES} in base64url without padding. */
    private static final int TOKEN_CHARACTERS = 22;

    private final String name;
    private final Map<String, Integer> slots;
    private final byte[][] setCookieLines;
    private final AtomicBoolean clashWarned = new AtomicBoolean();
    /** A worker's value of our name left on its response: a client can cause it, so at most a line every 10 s. */
    private final OccasionalWarning leftAsSet = new OccasionalWarning(System::nanoTime);
    /** A worker set a cookie of our name: we set ours no more. */
    private volatile boolean clash;

    /** {@link #StickySessions(String, int, byte[], boolean)} for a proxy without TLS. */
    StickySessions(String name, int maxWorkers, byte[] key) {
        this(name, maxWorkers, key, false);
    }

    /**
     * @param key the HMAC key: random bytes made at start ({@link java.security.SecureRandom})
     * @param secure whether the proxy serves TLS: the cookie then has {@code Secure} (RFC 6265 §4.1.2.5), so that a
     *               browser never sends it over plain HTTP
     */
    StickySessions(String name, int maxWorkers, byte[] key, boolean secure) {
        this.name = name;
        Map<String, Integer> slots = new HashMap<>();
        this.setCookieLines = new byte[maxWorkers][];
        Mac mac = mac(key);
        for (int index = 0; index < maxWorkers; index++) {
            byte[] digest = mac.doFinal(ByteBuffer.allocate(4).putInt(index).array());
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(Arrays.copyOf(digest, TOKEN_BYTES));
            slots.put(token, index);
            setCookieLines[index] = ("set-cookie: " + name + "=" + token + "; Path=/; HttpOnly; SameSite=Lax"
                    + (secure ? "; Secure" : "") + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
        }
        this.slots = Map.copyOf(slots);
    }

    private static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException ex) {
            throw new IllegalStateException("HmacSHA256 is not available for fleet.proxy.sticky.cookie", ex);
        }
    }

    /**
     * The slot the request's cookie names: 0..max-workers-1, {@link #UNKNOWN} when it has our cookie with a value
     * that names none, {@link #NO_COOKIE} when it has none. The first cookie of our name that names a slot counts: a
     * browser sends every cookie of the name whose path and domain match, the longest path first (RFC 6265 §5.4),
     * so a stale one left at a longer path, or set for a parent domain, does not hide ours.
     */
    int slot(HttpHeaders headers) {
        List<String> values = headers.getAll(HttpHeaderNames.COOKIE);
        int found = NO_COOKIE;
        for (String value : values) {
            for (Cookie cookie : ServerCookieDecoder.LAX.decodeAll(value)) {
                if (cookie.name().equals(name)) {
                    Integer slot = slots.get(cookie.value());
                    if (slot != null) {
                        return slot;
                    }
                    found = found == FOREIGN || !tokenShaped(cookie.value()) ? FOREIGN : UNKNOWN;
                }
            }
        }
        return found;
    }

    /**
     * Whether {@code value} could be one of our tokens: 22 characters of base64url. Common frameworks' session ids
     * have other shapes (Tomcat's 32 hex digits, PHP's and Django's 26 to 32 letters and digits, Express's signed
     * {@code s:…}); one of exactly this shape (Python's {@code secrets.token_urlsafe(16)}) passes for a stale token
     * and is rebound (found by a re-attacking helper).
     */
    private static boolean tokenShaped(String value) {
        if (value.length() != TOKEN_CHARACTERS) {
            return false;
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** Whether the request carried a cookie of our name with {@code value}. */
    private boolean sent(HttpHeaders request, String value) {
        for (String header : request.getAll(HttpHeaderNames.COOKIE)) {
            for (Cookie cookie : ServerCookieDecoder.LAX.decodeAll(header)) {
                if (cookie.name().equals(name) && cookie.value().equals(value)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The {@code Set-Cookie} line (CRLF included) that binds a client to {@code slot}; null beyond the table. */
    byte[] setCookieLine(int slot) {
        return slot >= 0 && slot < setCookieLines.length ? setCookieLines[slot] : null;
    }

    /**
     * The response's {@code Set-Cookie} line when the request's cookie named another slot, or none, or was a stale
     * or forged token; else null (a {@link #FOREIGN} value is left alone).
     */
    byte[] rebind(int requested, int served) {
        return requested == served || requested == FOREIGN ? null : setCookieLine(served);
    }

    /**
     * Whether a worker set a cookie of this name itself, so that stickiness by it is off until a restart (see
     * {@link #rebind(int, int, ByteBuf, HttpHeaders)}). Any thread.
     */
    boolean yielded() {
        return clash;
    }

    /**
     * Like {@link #rebind(int, int)}, for a worker's response ({@code headLines}: status line and header lines, CRLF
     * after each), which gets no cookie of ours when a shared cache may store it ({@link SetCookieLines#sharedCacheable}:
     * {@code Cache-Control: public} or {@code s-maxage}, or a CDN's own field; HAProxy's {@code nocache} marks such a response private instead; leaving it as the
     * application made it keeps it cacheable), and which may set a cookie of our name itself:
     * <ul>
     *   <li>a deletion (an empty value, {@code Max-Age} of zero or less, an {@code Expires} in the past): the
     *       application ends the binding, as a logout that expires every cookie it received does; it reaches the
     *       client as sent and this response adds none (HAProxy's {@code cookie ... preserve}). The next request,
     *       without the cookie, is balanced and bound again.</li>
     *   <li>one of our own tokens, or the value the request itself sent (a stale token of a master since restarted,
     *       a forged one): an echo of the request's cookie (an application that refreshes every cookie it receives),
     *       left as it is; our line, when the response binds anew, comes after it and wins.</li>
     *   <li>another value, in answer to a request that carried any cookie: it reaches the client as set and this
     *       response adds none, as for a deletion; the client's next request, with that value, is {@link #FOREIGN}
     *       and keeps it. Most likely the request's cookie sent back as the application's parser read it (Express
     *       turns {@code %41} into {@code A} and {@code "xy} into {@code x}; Python's {@code http.cookies} finds
     *       {@code SHEP} inside {@code a=1 SHEP=zz}, where Netty's parser finds none), so it must not change
     *       anything for anyone else; or the application's own cookie of the name, set at a login. Warned of, at
     *       most every 10 s.
     *       Found by attacking helpers: such responses turned stickiness off for every client, first when the value
     *       came back as sent, then encoded otherwise, then read where our parser saw no cookie of the name.</li>
     *   <li>a value in answer to a request without any cookie, which a client cannot make a worker echo (only an
     *       application that sets the cookie from a query parameter or a header, or replays a cached response's
     *       {@code Set-Cookie}, can be led to it: found by a re-attacking helper, and documented): the name is the
     *       application's (a configuration mistake), and our token would overwrite its cookie and end its
     *       sessions. Null for good from then on: stickiness by this cookie is off, and a warning names the property,
     *       once. Looked for in every response, whether it rebinds or not.</li>
     * </ul>
     */
    byte[] rebind(int requested, int served, ByteBuf headLines, HttpHeaders request) {
        if (clash) {
            return null;
        }
        Setting setting = workerSetting(headLines, request);
        if (setting == Setting.NONE) {
            // Not on a response a shared cache may store for everyone: the next one the client gets binds it.
            byte[] line = rebind(requested, served);
            return line == null || SetCookieLines.sharedCacheable(headLines) ? null : line;
        }
        if (setting == Setting.LEAVES) {
            return null;
        }
        if (setting == Setting.LEAVES_SET) {
            long times = leftAsSet.occurred();
            if (times > 0) {
                // Not once only: a client could spend a single line before the application's own first login.
                log.warn("A worker (index {}) set the cookie {}, which fleet.proxy.sticky.cookie names for the proxy's "
                        + "own, to a value not Shepherd's, for a request that carried cookies ({} time(s) since the "
                        + "last such line): left as set (it may be a client's cookie sent back). If the application "
                        + "uses that name, name another cookie there, or set fleet.proxy.sticky.app-cookie={} to follow "
                        + "the worker's", served, name, times, name);
            }
            return null;
        }
        clash = true;
        if (clashWarned.compareAndSet(false, true)) {
            // Which one: a single response of any worker does it (found by an attacking helper).
            log.warn("The worker of index {} set the cookie {} itself, which fleet.proxy.sticky.cookie names for the "
                    + "proxy's own: Shepherd no longer sets it, so that the worker's sessions survive, and sticky "
                    + "sessions are off until a restart. Name another cookie there, or set "
                    + "fleet.proxy.sticky.app-cookie={} to follow the worker's", served, name, name);
        }
        return null;
    }

    /** {@link #rebind(int, int, ByteBuf, HttpHeaders)} for a request that sent no cookie. */
    byte[] rebind(int requested, int served, ByteBuf headLines) {
        return rebind(requested, served, headLines, EmptyHttpHeaders.INSTANCE);
    }

    /**
     * What a worker's response does with a cookie of our name, in rising order: nothing of note ({@code NONE}: none,
     * one of our tokens, the request's own value sent back); {@code LEAVES}: a deletion, which this response must
     * carry as the worker set it; {@code LEAVES_SET}: another value for a request that carried cookies, the same;
     * {@code SETS}: a value of the worker's own, for a request without any cookie.
     */
    private enum Setting { NONE, LEAVES, LEAVES_SET, SETS }

    private Setting workerSetting(ByteBuf headLines, HttpHeaders request) {
        Setting[] setting = {Setting.NONE};
        SetCookieLines.forEach(headLines, header -> {
            Cookie cookie = ClientCookieDecoder.LAX.decode(header);
            // Only one that would replace ours (Path=/, host-only): a cookie of the name at another path or for a
            // domain is another cookie (RFC 6265 §5.3 step 11), which the client sends beside ours.
            if (cookie != null && cookie.name().equals(name) && cookie.domain() == null
                    && (cookie.path() == null || cookie.path().equals("/"))) {
                Setting one = setting(cookie, request);
                if (one.ordinal() > setting[0].ordinal()) {
                    setting[0] = one;
                }
            }
        });
        return setting[0];
    }

    /** What one {@code Set-Cookie} of our name, at {@code Path=/} and host-only, does (see {@link Setting}). */
    private Setting setting(Cookie cookie, HttpHeaders request) {
        if (AppCookieSessions.deletes(cookie)) {
            return Setting.LEAVES;
        }
        if (slots.containsKey(cookie.value()) || sent(request, cookie.value())) {
            // One of our own tokens, or the request's cookie sent back as it came: ours follows it and wins.
            return Setting.NONE;
        }
        // Any Cookie field at all, however our parser reads it: the application's may find our name in it.
        return request.contains(HttpHeaderNames.COOKIE) ? Setting.LEAVES_SET : Setting.SETS;
    }
}
