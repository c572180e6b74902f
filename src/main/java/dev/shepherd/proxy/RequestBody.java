package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayList;
import java.util.List;

/**
 * The parts of one request body that may still have to be sent (again). While the body is within the retry
 * buffer limit every part is held, and copies go to the worker, so a failed attempt can be replayed intact on
 * another worker. Past the limit, parts go to the worker as they come and are no longer held: from the first
 * such write the body cannot be sent again. Parts that arrive while no worker connection is attached are held
 * whatever their size: the client is read from then only while the body is read before a worker is picked, up to
 * the limit ({@link ProxyContext#readsBodiesFirst}), and what one read brings past it. Confined to the exchange's
 * event loop.
 */
final class RequestBody {

    /**
     * Parts held at most before they are merged into one: a body sent in many small chunks (one byte each, say)
     * would otherwise hold an object and a buffer per chunk, many times the bytes it carries.
     */
    static final int MAX_HELD_PARTS = 64;

    private final long limit;
    private final List<HttpContent> held = new ArrayList<>(2);
    /** The buffer of ours that the first held part wraps once parts were merged; null before. */
    private ByteBuf merged;
    private long bytes;
    private boolean partlySent;

    RequestBody(long limit) {
        this.limit = limit;
    }

    /** Bytes received so far. */
    long bytes() {
        return bytes;
    }

    /** Whether every part received so far can still be sent to another worker. */
    boolean replayable() {
        return !partlySent;
    }

    /** A part from the client; written to {@code upstream} at once when a worker connection is attached. */
    void add(HttpContent content, Channel upstream) {
        bytes += content.content().readableBytes();
        if (upstream == null) {
            hold(content);
        } else if (bytes <= limit && !partlySent) {
            upstream.write(content.retainedDuplicate(), upstream.voidPromise());
            hold(content);
        } else {
            release();
            partlySent = true;
            upstream.write(content, upstream.voidPromise());
        }
    }

    /** Writes what is held to a newly attached worker connection, keeping it only while within the limit. */
    void writeTo(Channel upstream) {
        boolean keep = bytes <= limit && !partlySent;
        for (HttpContent content : held) {
            upstream.write(keep ? content.retainedDuplicate() : content, upstream.voidPromise());
        }
        if (!keep && !held.isEmpty()) {
            held.clear();
            merged = null;
            partlySent = true;
        }
    }

    /** Number of parts held now. */
    int heldParts() {
        return held.size();
    }

    /**
     * Holds a part; past {@link #MAX_HELD_PARTS} parts, the parts after the first are appended to it, merged into a
     * buffer of ours. That buffer grows by doubling, in place while nothing else refers to it (no copy of it on its
     * way to a worker), else into a new one: each byte is copied a bounded number of times on average, however
     * small the chunks, and no buffer that a write may still be reading changes.
     */
    private void hold(HttpContent content) {
        held.add(content);
        if (held.size() <= MAX_HELD_PARTS || content instanceof LastHttpContent) {
            return;
        }
        int first = merged != null ? 1 : 0;
        int adding = 0;
        for (int i = first; i < held.size(); i++) {
            adding += held.get(i).content().readableBytes();
        }
        ByteBuf target = merged;
        if (target == null || target.refCnt() != 1 || target.writableBytes() < adding) {
            int have = merged == null ? 0 : merged.readableBytes();
            target = content.content().alloc().buffer(Math.max(2 * (have + adding), 256));
            if (merged != null) {
                target.writeBytes(merged, merged.readerIndex(), have);
            }
        }
        for (int i = first; i < held.size(); i++) {
            ByteBuf part = held.get(i).content();
            target.writeBytes(part, part.readerIndex(), part.readableBytes());
            ReferenceCountUtil.safeRelease(held.get(i));
        }
        if (merged != null && target != merged) {
            ReferenceCountUtil.safeRelease(held.get(0));
        }
        held.clear();
        held.add(new DefaultHttpContent(target));
        merged = target;
    }

    void release() {
        for (HttpContent content : held) {
            ReferenceCountUtil.safeRelease(content);
        }
        held.clear();
        merged = null;
    }
}
