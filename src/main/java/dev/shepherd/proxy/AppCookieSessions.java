package dev.shepherd.proxy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.cookie.ClientCookieDecoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;

import java.util.List;

/**
 * Sticky sessions learned from the application's own session cookie ({@code fleet.proxy.sticky.app-cookie}, such
 * as {@code JSESSIONID}), as Cloud Foundry's router does (and HAProxy's {@code appsession} did): a value a worker
 * sets with {@code Set-Cookie} (RFC 6265 §4.1) is remembered with the worker's slot (its stable index); a later
 * request whose {@code Cookie} carries that value goes to the slot's worker ({@link StickySlots}). A value the
 * proxy never saw a worker set, or has forgotten, goes to normal balancing and is not remembered: only workers put
 * values in. A remembered value whose slot has no worker left that takes its requests moves to the slot that
 * answered, like the proxy's own cookie (a slot whose worker was only busy keeps it); a {@code Set-Cookie} that
 * deletes the cookie ({@code Max-Age} of zero or less, an {@code Expires} in the past, or an empty value) forgets
 * it.
 *
 * <p>Bounded: at most {@code fleet.proxy.sticky.app-cookie-max-entries} values (Caffeine's size bound, which
 * forgets those least likely to be used again: a value clients keep sending outlives values that were only set),
 * none longer than {@link #MAX_VALUE_LENGTH} characters, and one value learned per response; about 30 MB at most
 * with the default 100 000. Thread-safe and lock-free for lookups; a request without the cookie costs one header
 * lookup. Any thread.
 */
final class AppCookieSessions {

    /** Longer values are neither remembered nor looked up. */
    static final int MAX_VALUE_LENGTH = 128;

    /**
     * Heap one remembered value of {@link #MAX_VALUE_LENGTH} characters takes, with its cache entry: 100 000 of them
     * took 28 MB of old generation after a full GC (an attacking helper's measure, 2026-12-04), rounded up.
     */
    static final long BYTES_PER_ENTRY = 320;

    /**
     * {@code configured} ({@code fleet.proxy.sticky.app-cookie-max-entries}), lowered so that the values at most take a
     * quarter of {@code maxHeap} (the JVM's {@code -Xmx}; unknown when 0 or less, or {@link Long#MAX_VALUE}): with
     * 1,000,000 allowed and the README's {@code -Xmx128m}, ordinary session ids a worker handed out filled the heap
     * in 25 s and the master, with its fleet, ended on an {@code OutOfMemoryError}. Never below 1.
     */
    static int fit(int configured, long maxHeap) {
        if (maxHeap <= 0 || maxHeap == Long.MAX_VALUE) {
            return configured;
        }
        return (int) Math.max(1, Math.min(configured, maxHeap / 4 / BYTES_PER_ENTRY));
    }

    private final String name;
    private final Cache<String, Integer> slots;

    AppCookieSessions(String name, int maxEntries) {
        this(name, maxEntries, () -> { });
    }

    /** {@code forgotten}: told of each value forgotten for the bound (not of those a worker deleted). */
    AppCookieSessions(String name, int maxEntries, Runnable forgotten) {
        this.name = name;
        // Maintenance (eviction) on the writing thread: no pool thread, and a bound that holds as soon as put returns.
        // Sized from the start: Caffeine counts uses only once half full, so values bound and used before that
        // went first, before values no client ever sent (found by attacking helpers: a client minting sessions, or
        // a worker setting 100 values a response, flushed every other user's binding). About 2 MB with 100 000.
        this.slots = Caffeine.newBuilder().maximumSize(maxEntries).initialCapacity(maxEntries).executor(Runnable::run)
                .<String, Integer>evictionListener((value, slot, cause) -> {
                    if (cause == RemovalCause.SIZE) {
                        forgotten.run();
                    }
                })
                .build();
    }

    /** The request's value of the cookie (the first one of the name), or null: none, empty or too long. */
    String value(HttpHeaders headers) {
        List<String> lines = headers.getAll(HttpHeaderNames.COOKIE);
        for (int i = 0; i < lines.size(); i++) {
            for (Cookie cookie : ServerCookieDecoder.LAX.decodeAll(lines.get(i))) {
                if (cookie.name().equals(name)) {
                    return usable(cookie.value()) ? cookie.value() : null;
                }
            }
        }
        return null;
    }

    /** The slot remembered for {@code value}, or {@link StickySessions#NO_COOKIE} when none (or value is null). */
    int slot(String value) {
        Integer slot = value == null ? null : slots.getIfPresent(value);
        return slot == null ? StickySessions.NO_COOKIE : slot;
    }

    /**
     * After a worker of slot {@code served} answered: the request's remembered {@code value} (bound to
     * {@code requested}) moves to {@code served}, then the response's own {@code Set-Cookie} lines of the cookie
     * bind or forget values. {@code headLines}: the response's status line and header lines, CRLF after each.
     */
    void answered(String value, int requested, int served, ByteBuf headLines) {
        answered(value, requested, served, served, headLines);
    }

    /**
     * Like {@link #answered(String, int, int, ByteBuf)}, but the request's value moves to {@code boundTo}: the slot
     * it stays bound to when {@code served} only stood in for a worker that was busy.
     */
    void answered(String value, int requested, int boundTo, int served, ByteBuf headLines) {
        if (value != null && requested >= 0 && requested != boundTo) {
            slots.asMap().replace(value, requested, boundTo);
        }
        learn(headLines, served, value);
    }

    /**
     * The deletions of the response, and the last value it sets: a browser keeps one cookie of a name (for a path and
     * domain), and a worker that set 100 values a response filled the map 100 times as fast (found by an attacking
     * helper).
     */
    private void learn(ByteBuf lines, int served, String requestValue) {
        Cookie[] set = new Cookie[1];
        SetCookieLines.forEach(lines, header -> {
            Cookie cookie = ClientCookieDecoder.LAX.decode(header);
            if (cookie != null && cookie.name().equals(name) && !deletes(cookie)) {
                set[0] = cookie;
            } else {
                learn(cookie, served, requestValue);
            }
        });
        if (set[0] != null) {
            learn(set[0], served, requestValue);
        }
    }

    /**
     * A deletion of the cookie the request carried (no {@code Domain}, and no {@code Path} or {@code /}, as
     * applications set their session cookie) forgets the value it names and the one the request carried (a logout
     * sends an empty value). One for another path or domain (clearing an old cookie there) leaves them: the
     * request's cookie may well be the live one at {@code /}, which the browser keeps sending.
     */
    private void learn(Cookie cookie, int served, String requestValue) {
        if (cookie == null || !cookie.name().equals(name)) {
            return;
        }
        if (deletes(cookie)) {
            if (cookie.domain() == null && (cookie.path() == null || cookie.path().equals("/"))) {
                slots.invalidate(cookie.value());
                if (requestValue != null) {
                    slots.invalidate(requestValue);
                }
            }
        } else if (usable(cookie.value())) {
            slots.put(cookie.value(), served);
        }
    }

    /**
     * Whether a {@code Set-Cookie} deletes its cookie: an empty value, or a {@code Max-Age} of zero or less (Netty's
     * decoder turns an {@code Expires} into one, so one in the past counts; RFC 6265 §5.3 steps 3 and 11).
     */
    static boolean deletes(Cookie cookie) {
        return cookie.value().isEmpty() || cookie.maxAge() != Cookie.UNDEFINED_MAX_AGE && cookie.maxAge() <= 0;
    }

    private static boolean usable(String value) {
        return !value.isEmpty() && value.length() <= MAX_VALUE_LENGTH;
    }

    /** Values remembered now (after pending evictions). */
    long size() {
        slots.cleanUp();
        return slots.estimatedSize();
    }
}
