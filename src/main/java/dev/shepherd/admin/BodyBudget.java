package dev.shepherd.admin;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the command bodies the admin port reads, one by one and all together, so that no caller (a trusted one
 * included: a script that uploads the wrong file) can take the master's heap: a body is parsed in memory (Jackson
 * keeps a string whole, up to 100 million characters by default), and with the README's 128 MB heap 24 bodies of 2 MB
 * sent at once made the master exit on {@code OutOfMemoryError}, its workers with it (measured 2026-12-02).
 * <ul>
 *   <li>A body must declare its size ({@code Content-Length}; Tomcat then reads no byte past it): one of unknown
 *       length (chunked) gets {@code 411 Length Required} (RFC 9110 §15.5.12).</li>
 *   <li>A body over {@link #MAX_BODY_BYTES} gets {@code 413 Content Too Large} (RFC 9110 §15.5.14) before a byte of
 *       it is read.</li>
 *   <li>The declared sizes of the bodies being handled at once may add up to {@link #BUDGET_BYTES}: one that would
 *       pass it gets {@code 503} with {@code Retry-After: 1}; its size is counted until its request ends.</li>
 * </ul>
 * Only commands count (POST, PUT, PATCH, DELETE): no handler reads the body of a GET, HEAD or OPTIONS, which Tomcat
 * discards. Runs after authorization, so that with {@code fleet.admin.token} set a caller without it reserves
 * nothing. A body refused for want of budget is read and discarded first (at most {@link #MAX_BODY_BYTES}, through a
 * small buffer), so that the client, still sending it, gets the 503 and its {@code Retry-After} rather than a reset:
 * Tomcat closes the connection after a 503 without reading what is left. Any request thread; the count is shared by
 * all.
 */
final class BodyBudget extends OncePerRequestFilter {

    /** The most bytes one command body may have, 1 MiB: a reload's spec fits many times over. */
    static final int MAX_BODY_BYTES = 1024 * 1024;
    /** The most bytes of command bodies handled at once: with Jackson's copies, a few tens of MB of heap at most. */
    static final long BUDGET_BYTES = 8L * MAX_BODY_BYTES;

    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS", "TRACE");

    private final long budget;
    private final AtomicLong reserved = new AtomicLong();

    BodyBudget() {
        this(BUDGET_BYTES);
    }

    /** @param budget the most bytes of bodies handled at once */
    BodyBudget(long budget) {
        this.budget = budget;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long length = request.getContentLengthLong();
        boolean unknownLength = length < 0 && request.getHeader(HttpHeaders.TRANSFER_ENCODING) != null;
        if (READS.contains(request.getMethod()) || length <= 0 && !unknownLength) {
            chain.doFilter(request, response);
            return;
        }
        if (unknownLength) {
            Problems.write(request, response, HttpStatus.LENGTH_REQUIRED, "A command's body must come with a Content-Length: "
                    + "a body of unknown length (Transfer-Encoding: chunked) is not read");
            return;
        }
        if (length > MAX_BODY_BYTES) {
            Problems.write(request, response, HttpStatus.CONTENT_TOO_LARGE, "A command's body may have at most "
                    + MAX_BODY_BYTES + " bytes; this one has " + length);
            return;
        }
        if (!reserve(length)) {
            discard(request.getInputStream());
            response.setHeader(HttpHeaders.RETRY_AFTER, "1");
            Problems.write(request, response, HttpStatus.SERVICE_UNAVAILABLE, "The admin port is reading " + budget
                    + " bytes of command bodies at once already; send it again in a moment");
            return;
        }
        try {
            chain.doFilter(request, response);
        } finally {
            reserved.addAndGet(-length);
        }
    }

    /** Counts {@code length} in if it fits the budget; never over it, not even for a moment. */
    private boolean reserve(long length) {
        long now;
        do {
            now = reserved.get();
            if (now + length > budget) {
                return false;
            }
        } while (!reserved.compareAndSet(now, now + length));
        return true;
    }

    /** Reads what is left of a body (its declared length, at most {@link #MAX_BODY_BYTES}) and keeps none of it. */
    private static void discard(InputStream body) throws IOException {
        byte[] buffer = new byte[8192];
        while (body.read(buffer) != -1) {
            // dropped
        }
    }

    /** Bytes of bodies being handled now. */
    long reserved() {
        return reserved.get();
    }
}
