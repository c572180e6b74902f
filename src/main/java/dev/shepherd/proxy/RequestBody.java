package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of one request body that may still have to be sent (again). While the body is within the retry
 * buffer limit every part is held, and copies go to the worker, so a failed attempt can be replayed intact on
 * another worker. Past the limit, parts go to the worker as they come and are no longer held: from the first
 * such write the body cannot be sent again. Parts that arrive while no worker connection is attached are held
 * whatever their size: the client is read from then only while the body is read before a worker is picked, up to
 * the limit ({@link ProxyContext#readsBodiesFirst}), and what one read brings past it.
 *
 * <p>A body read before a worker is picked may be spooled instead ({@link #spool}): the parts past the limit go to a
 * file of the {@link BodySpool}, after the parts held. Such a body is sent from the
 * file a chunk at a time while the worker connection is writable ({@link #writeTo}, {@link #pump}), and can be sent
 * again, whole, as often as an attempt fails. Confined to the exchange's event loop.
 */
final class RequestBody {

    /**
     * Parts held at most before they are merged into one: a body sent in many small chunks (one byte each, say)
     * would otherwise hold an object and a buffer per chunk, many times the bytes it carries.
     */
    static final int MAX_HELD_PARTS = 64;

    /** The most bytes of a spooled body read from its file for one write to a worker. */
    static final int PUMP_CHUNK = 64 * 1024;

    /**
     * Parts smaller than this are gathered in a buffer of this size before they go to the file, so that a body
     * sent in small chunks costs one write per this many bytes rather than one per chunk (an attacking helper's
     * one-byte chunks cost 2.7 s of CPU per MB written one at a time, 2026-12-03); nginx gathers in
     * {@code client_body_buffer_size} the same way. Small, as it is held per body being spooled.
     */
    static final int SPOOL_GATHER = 8 * 1024;

    private final long limit;
    private final List<HttpContent> held = new ArrayList<>(2);
    /** The buffer of ours that the first held part wraps once parts were merged; null before. */
    private ByteBuf merged;
    private long bytes;
    private boolean partlySent;
    /** The spooled part of the body, after the held parts; null while none. */
    private FileChannel file;
    private long fileBytes;
    /** The spool whose bound counts this body's bytes ({@link BodySpool#reserve}), and how many; null while none. */
    private BodySpool spool;
    /** The client whose share of the spool counts them ({@link BodySpool#reserve}). */
    private Object client;
    private long reserved;
    /** Small parts gathered for the file, not written yet ({@link #SPOOL_GATHER}); null while none. */
    private ByteBuf gathered;
    /** Writes to the file so far. */
    private int fileWrites;
    /** The end of a spooled body came (its trailers are not forwarded: {@link ClientHandler}). */
    private boolean ended;
    /** Parts that found the spool at its bound, in order, until there is room for them ({@link #spoolWaiting}); null: none. */
    private ArrayDeque<HttpContent> waiting;
    /** This body in its spool's list of bodies it holds ({@link BodySpool#holding}); null while not listed. */
    private SpoolHolder holder;
    /** The worker connection the spooled part is being written to, and how far; null when none. */
    private Channel pumping;
    private long pumped;

    RequestBody(long limit) {
        this.limit = limit;
    }

    /** Bytes received so far. */
    long bytes() {
        return bytes;
    }

    /** Whether part of the body is in a file. */
    boolean spooled() {
        return file != null;
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
            upstream.write(content.retainedDuplicate(), UpstreamHandler.bodyWrite(upstream));
            hold(content);
        } else {
            release();
            partlySent = true;
            upstream.write(content, UpstreamHandler.bodyWrite(upstream));
        }
    }

    /**
     * A part from the client, kept in the file of {@code spool} (opened by the first such part) after the parts held:
     * parts smaller than {@link #SPOOL_GATHER} are gathered first, and what is gathered is written when the next part
     * would not fit beside it and at the body's end. Takes {@code content} over in every case. Returns false when the
     * part could not be counted within the spool's bound, or {@code client}'s share of it ({@link BodySpool#reserve}):
     * it then waits in memory, and so does every part after it, until {@link #spoolWaiting} finds room for them or the
     * body is released.
     *
     * @throws IOException when the file cannot be opened or written: the body is then incomplete
     */
    boolean spool(HttpContent content, BodySpool spool, Object client) throws IOException {
        this.client = client;
        int length = content.content().readableBytes();
        bytes += length;
        if (holder != null) {
            holder.read(bytes, spool.now());
        }
        if (waiting == null && spool.reserve(client, length)) {
            keep(content, spool, length);
            return true;
        }
        if (waiting == null) {
            waiting = new ArrayDeque<>(4);
        }
        waiting.add(content);
        return false;
    }

    /**
     * Writes the parts that wait for room ({@link #spool}) to the file, in order, while the spool's bound has room
     * for them; returns whether none waits now.
     *
     * @throws IOException as {@link #spool}
     */
    boolean spoolWaiting(BodySpool spool) throws IOException {
        while (waiting != null) {
            HttpContent next = waiting.peek();
            if (next == null) {
                waiting = null;
                break;
            }
            int length = next.content().readableBytes();
            if (!spool.reserve(client, length)) {
                return false;
            }
            waiting.poll();
            keep(next, spool, length);
        }
        return true;
    }

    /** Bytes of the first part waiting for room in the spool ({@link #spool}); 0 when none waits. */
    long firstWaitingBytes() {
        HttpContent first = waiting == null ? null : waiting.peek();
        return first == null ? 0 : first.content().readableBytes();
    }

    /** Parts waiting for room in the spool ({@link #spool}). */
    int waitingParts() {
        return waiting == null ? 0 : waiting.size();
    }

    /**
     * Lists the body, once it has bytes in {@code spool}, among the bodies of its client that hold some
     * ({@link BodySpool#holding}), which may be refused for room ({@link BodySpool#makeRoom}): {@code refuse} runs on
     * {@code loop} if it is. Listed until it is released.
     */
    void list(BodySpool spool, EventExecutor loop, Runnable refuse) {
        if (holder == null && this.spool == spool) {
            holder = spool.holding(loop, refuse, bytes, client, ended);
            holder.kept(reserved);
        }
    }

    /** The body's place in its spool's list ({@link #list}); null while it has none. */
    SpoolHolder holder() {
        return holder;
    }

    /**
     * The whole body waits in the queue for its first worker ({@code queued}), where another client's body may have
     * it refused for room ({@link BodySpool#queued}), or no longer does. Nothing when it holds no bytes of the spool.
     */
    void queued(boolean queued) {
        if (holder != null) {
            spool.queued(holder, queued);
        }
    }

    private void unlist() {
        if (holder != null) {
            spool.done(holder);
            holder = null;
        }
    }

    /** Writes {@code content}, whose {@code length} bytes are counted in {@code spool} already; takes it over. */
    private void keep(HttpContent content, BodySpool spool, int length) throws IOException {
        try {
            ByteBuf part = content.content();
            this.spool = spool;
            reserved += length;
            if (holder != null) {
                holder.kept(reserved);
            }
            if (file == null) {
                file = spool.open();
            }
            if (gathered != null && gathered.readableBytes() + length > SPOOL_GATHER) {
                writeGathered();
            }
            if (length >= SPOOL_GATHER) {
                write(part);
            } else if (length > 0) {
                if (gathered == null) {
                    gathered = part.alloc().buffer(SPOOL_GATHER, SPOOL_GATHER);
                }
                gathered.writeBytes(part, part.readerIndex(), length);
            }
            if (content instanceof LastHttpContent) {
                ended = true;
                if (holder != null) {
                    spool.whole(holder);
                }
                writeGathered();
            }
        } finally {
            ReferenceCountUtil.safeRelease(content);
        }
    }

    /** Writes what is gathered to the file and lets the buffer go. */
    private void writeGathered() throws IOException {
        if (gathered != null) {
            try {
                write(gathered);
            } finally {
                gathered.release();
                gathered = null;
            }
        }
    }

    /** Writes {@code bytes}'s readable bytes at the end of the file; leaves its indexes as they were. */
    private void write(ByteBuf bytes) throws IOException {
        int index = bytes.readerIndex();
        int end = bytes.writerIndex();
        while (index < end) {
            index += bytes.getBytes(index, file, fileBytes + index - bytes.readerIndex(), end - index);
            fileWrites++;
        }
        fileBytes += end - bytes.readerIndex();
    }

    /** Writes to the spool file so far (a part that fits gathered costs none until its buffer is written). */
    int fileWrites() {
        return fileWrites;
    }

    /**
     * Writes what is held to a newly attached worker connection, keeping it only while within the limit, then what
     * was spooled, as far as the connection stays writable. Returns whether all was written; if not, the rest
     * follows with {@link #pump} once the connection is writable again.
     */
    boolean writeTo(Channel upstream) {
        boolean keep = file != null || bytes <= limit && !partlySent;
        for (HttpContent content : held) {
            upstream.write(keep ? content.retainedDuplicate() : content, UpstreamHandler.bodyWrite(upstream));
        }
        if (!keep && !held.isEmpty()) {
            held.clear();
            merged = null;
            partlySent = true;
        }
        if (file == null) {
            return true;
        }
        pumping = upstream;
        pumped = 0;
        if (holder != null) {
            spool.sent(holder, false);
        }
        return pump(upstream);
    }

    /** Whether part of the spooled body is still to be written to {@code upstream}. */
    boolean pumping(Channel upstream) {
        return pumping != null && pumping == upstream;
    }

    /**
     * Writes the next chunks of the spooled body to {@code upstream}, while it is writable, and its end after the
     * last; returns whether all has been written. Does not flush.
     *
     * @throws UncheckedIOException when the file cannot be read
     */
    boolean pump(Channel upstream) {
        if (!pumping(upstream)) {
            return pumping == null;
        }
        try {
            writeGathered();
        } catch (IOException ex) {
            pumping = null;
            throw new UncheckedIOException(ex);
        }
        while (pumped < fileBytes) {
            if (!upstream.isWritable()) {
                return false;
            }
            int length = (int) Math.min(PUMP_CHUNK, fileBytes - pumped);
            ByteBuf chunk = upstream.alloc().buffer(length);
            try {
                while (chunk.readableBytes() < length) {
                    int read = chunk.writeBytes(file, pumped + chunk.readableBytes(), length - chunk.readableBytes());
                    if (read < 0) {
                        throw new IOException("the spooled request body ended " + (fileBytes - pumped) + " bytes early");
                    }
                }
            } catch (IOException ex) {
                chunk.release();
                pumping = null;
                throw new UncheckedIOException(ex);
            }
            pumped += length;
            upstream.write(new DefaultHttpContent(chunk), UpstreamHandler.bodyWrite(upstream));
        }
        if (ended) {
            upstream.write(LastHttpContent.EMPTY_LAST_CONTENT, UpstreamHandler.bodyWrite(upstream));
            if (holder != null) {
                spool.sent(holder, true);
            }
        }
        pumping = null;
        return true;
    }

    /** No more of the body goes to the connection it was being written to (the attempt is over). */
    void stopPumping() {
        pumping = null;
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

    /**
     * Gives up what was kept to send the body again, once it has been written whole ({@link SpoolHolder.Stage#SENT}):
     * its file and its held parts; from now on it is not {@link #replayable}. For room in the spool
     * ({@link BodySpool#makeRoom}).
     */
    void dropCopy() {
        release();
        partlySent = true;
    }

    void release() {
        for (HttpContent content : held) {
            ReferenceCountUtil.safeRelease(content);
        }
        held.clear();
        if (waiting != null) {
            for (HttpContent content : waiting) {
                ReferenceCountUtil.safeRelease(content);
            }
            waiting = null;
        }
        merged = null;
        pumping = null;
        if (gathered != null) {
            gathered.release();
            gathered = null;
        }
        if (file != null) {
            try {
                file.close();
            } catch (IOException ex) {
                // Unlinked already: the space is freed when the last descriptor goes, which this close was.
            }
            file = null;
        }
        if (spool != null) {
            spool.release(client, reserved);
            reserved = 0;
        }
        // After its bytes are given back: a body refused for room is counted as room coming until then.
        unlist();
    }
}
