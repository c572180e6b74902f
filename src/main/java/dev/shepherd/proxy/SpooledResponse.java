package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.ArrayDeque;

/**
 * The part of one response that its client reads slower than the worker sends it, kept in a file of the responses'
 * spool ({@link BodySpool#forResponses}; nginx's {@code proxy_buffering} and {@code proxy_temp_path}), so that the
 * worker is free once it has sent the whole response, whatever the client's pace: parts go in at the end
 * ({@link #append}) while the client is behind, and out from the front ({@link #drain}) as its connection becomes
 * writable again, in order, {@value #CHUNK} bytes a write at most. A single-threaded worker whose answer a client
 * read a few kilobytes at a time was held in {@code write()} for minutes, failed its liveness probe and was killed
 * (found by an attacking helper).
 *
 * <p>What the file takes on disk is counted in the spool's bound ({@code fleet.proxy.response-temp-max-size}), and
 * given back when it is emptied (truncated: a long stream to a client that catches up now and then does not grow it
 * for ever) or closed; {@link #append} says when the bound is reached, and the caller then stops reading the worker
 * until the file is drained. Confined to the client connection's event loop; the file is unlinked from the start, and
 * closed by {@link #close}.
 */
final class SpooledResponse {

    /** The most bytes read back from the file for one write to the client. */
    static final int CHUNK = 64 * 1024;

    private final BodySpool spool;
    private final FileChannel file;
    private long written;
    private long read;
    /** Bytes of the file counted in the spool's bound, given back when it is emptied or closed. */
    private long reserved;
    /**
     * Parts that could not be written (a full disk), and what came after them, held in memory until the file is
     * drained: the caller stops reading the worker meanwhile, so they are a read's worth at most. Null while none.
     */
    private ArrayDeque<ByteBuf> held;

    SpooledResponse(BodySpool spool, FileChannel file) {
        this.spool = spool;
        this.file = file;
    }

    /** A new, empty spooled response in a file of {@code spool}. */
    static SpooledResponse open(BodySpool spool) throws IOException {
        return new SpooledResponse(spool, spool.open());
    }

    /**
     * Appends {@code part}, and takes it over. Returns false when the spool's bound or its bound per file
     * ({@link BodySpool#maxFileBytes}: a re-attacking helper's one response took the whole of the spool's, and other
     * slow clients held their workers again) is reached, or the file cannot be
     * written (a full disk, logged): the part is kept all the same, uncounted, in the file or in memory (it was read
     * from the worker, and what follows must come after it), and the caller stops reading the worker until
     * {@link #drain} has emptied the file, so the bound is passed by a read's worth at most. A full disk cut every
     * large download, fast clients' too, where it should only make the worker wait (found by a re-attacking helper).
     */
    boolean append(ByteBuf part) {
        if (held != null) {
            held.add(part);
            return false;
        }
        int length = part.readableBytes();
        long maxFileBytes = spool.maxFileBytes();
        boolean counted = (maxFileBytes == 0 || written + length <= maxFileBytes) && spool.tryReserve(length);
        if (counted) {
            reserved += length;
        }
        try {
            while (part.isReadable()) {
                written += part.readBytes(file, written, part.readableBytes());
            }
        } catch (IOException ex) {
            spool.failed(true, ex);
            held = new ArrayDeque<>();
            held.add(part);
            return false;
        }
        part.release();
        return counted;
    }

    /**
     * Writes what the file holds to the client's connection ({@code raw}) while it is writable, and flushes. Returns
     * whether the file is empty now.
     *
     * @throws IOException when the file cannot be read back
     */
    boolean drain(ChannelHandlerContext raw) throws IOException {
        while (read < written && raw.channel().isWritable()) {
            int length = (int) Math.min(CHUNK, written - read);
            ByteBuf chunk = raw.alloc().ioBuffer(length);
            try {
                while (chunk.readableBytes() < length) {
                    if (chunk.writeBytes(file, read + chunk.readableBytes(), length - chunk.readableBytes()) < 0) {
                        throw new IOException("the spooled response ended " + (written - read - chunk.readableBytes())
                                + " bytes early");
                    }
                }
            } catch (IOException | RuntimeException ex) {
                chunk.release();
                throw ex;
            }
            read += length;
            raw.write(chunk);
        }
        if (read == written && written > 0) {
            // Empty: from the start again, its space given back.
            file.truncate(0);
            read = 0;
            written = 0;
            spool.release(reserved);
            reserved = 0;
        }
        while (read == written && held != null && raw.channel().isWritable()) {
            ByteBuf part = held.poll();
            if (part == null) {
                held = null;
                break;
            }
            raw.write(part);
        }
        if (held != null && held.isEmpty()) {
            // What follows goes to the file again.
            held = null;
        }
        raw.flush();
        return !holds();
    }

    /** Whether part of the response waits, in the file or in memory. */
    boolean holds() {
        return read < written || held != null && !held.isEmpty();
    }

    /** The bytes that wait, in the file and in memory: written to the client's connection, not yet. */
    long pending() {
        long inMemory = 0;
        if (held != null) {
            for (ByteBuf part : held) {
                inMemory += part.readableBytes();
            }
        }
        return written - read + inMemory;
    }

    /** Closes the file (it is gone then) and gives its bytes back to the spool's bound. Idempotent. */
    void close() {
        spool.release(reserved);
        reserved = 0;
        if (held != null) {
            held.forEach(ByteBuf::release);
            held = null;
        }
        try {
            file.close();
        } catch (IOException ignored) {
            // Unlinked already: nothing is left behind either way.
        }
    }
}
