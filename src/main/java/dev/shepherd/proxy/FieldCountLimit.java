package dev.shepherd.proxy;

import io.netty.handler.codec.DefaultHeaders;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The headers Netty's request decoder fills, with a limit on how many fields one request head, or the trailer section
 * of one chunked body, may hold: {@code fleet.proxy.max-header-count}, the count Apache's {@code LimitRequestFields},
 * Tomcat's {@code maxHeaderCount} and HAProxy's {@code tune.http.maxhdr} bound (100, 100 and 101). The byte limit
 * ({@code max-header-size}) alone does not bound the memory of a head: every field costs the decoder an entry and two
 * copies of its name and value, about 250 bytes of heap for a 5-byte line such as {@code 1a:\r\n}, so a 16 KB head of
 * such lines held ~250 KB until it completed, and a few hundred connections sending them slowly exhausted a 128 MB
 * heap (measured, 2026-12-02).
 *
 * <p>The count is checked as the decoder adds each field ({@link HttpHeaders#add(CharSequence, Object)}, the one
 * call it makes for a parsed line): past the limit the add throws {@link RequestDecoder.Rejected} with 431 (RFC 6585
 * §5, "Request Header Fields Too Large", which names too many fields as well as too large ones), which the decoder
 * turns into a failed message that {@link ClientHandler} answers. The proxy's own changes to a head use
 * {@code set}, which the limit does not count. Same validation as Netty's default factories; the instances are
 * immutable and shared by all event loops.
 */
final class FieldCountLimit implements HttpHeadersFactory {

    private final DefaultHeaders.NameValidator<CharSequence> names;
    private final DefaultHeaders.ValueValidator<CharSequence> values;
    private final int limit;
    private final String section;

    private FieldCountLimit(DefaultHttpHeadersFactory validation, int limit, String section) {
        this.names = validation.getNameValidator();
        this.values = validation.getValueValidator();
        this.limit = limit;
        this.section = section;
    }

    /** For request heads: at most {@code limit} fields, validated as Netty's {@code headersFactory()} does. */
    static FieldCountLimit headers(int limit) {
        return new FieldCountLimit(DefaultHttpHeadersFactory.headersFactory(), limit, "header");
    }

    /** For the trailer section of a chunked request body, validated as Netty's {@code trailersFactory()} does. */
    static FieldCountLimit trailers(int limit) {
        return new FieldCountLimit(DefaultHttpHeadersFactory.trailersFactory(), limit, "trailer");
    }

    @Override
    public HttpHeaders newHeaders() {
        return new Limited(this);
    }

    @Override
    public HttpHeaders newEmptyHeaders() {
        return new Limited(this);
    }

    private static final class Limited extends DefaultHttpHeaders {

        private final FieldCountLimit limit;

        Limited(FieldCountLimit limit) {
            super(limit.names, limit.values);
            this.limit = limit;
        }

        @Override
        public HttpHeaders add(CharSequence name, Object value) {
            if (size() >= limit.limit) {
                throw new RequestDecoder.Rejected(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "more than " + limit.limit + " " + limit.section + " fields in the request");
            }
            return super.add(name, value);
        }
    }
}
