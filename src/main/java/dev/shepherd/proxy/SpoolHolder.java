package dev.shepherd.proxy;

import io.netty.util.concurrent.EventExecutor;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A request body with bytes in a file of a {@link BodySpool} ({@link BodySpool#holding}), as {@link SpoolRoom} sees
 * it when it makes room at the spool's bound: its client, its {@link Stage}, the bytes the spool counts for it, and
 * its rate: what it has read over the last {@link #WINDOW_NANOS} to twice that (since it was listed, at first), so
 * that a body sent fast and then trickled counts as slow, which its rate since its start would hide for minutes.
 *
 * <p>Threads: its numbers and stage are written on its event loop and read by any thread, where a torn look only
 * misjudges its rate at that moment. Whether it is chosen to make room, whether it is gone, and the bytes it
 * promised as room coming change together under its own lock ({@link #claim}, {@link #spare}, {@link #leave}), so
 * that the spool's count of room coming never counts a body twice or after it went.
 */
final class SpoolHolder {

    /** How far back a rate looks, at least. */
    static final long WINDOW_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** What a body with bytes in the spool is doing, as far as {@link SpoolRoom#makeRoom} cares. */
    enum Stage {
        /** Being read: refusable, by its rate, once read for {@link ReclaimableConnections#GRACE_NANOS}. */
        READING,
        /** Whole, and waiting in the queue for its first worker: refusable for another client. */
        QUEUED,
        /** Whole, and with a worker (or between attempts): not refusable, but counted in its client's share. */
        WHOLE,
        /**
         * Whole, and written whole to its worker: its file is a copy kept only to send it again should that worker
         * fail before answering, which it can give up for room.
         */
        SENT
    }

    private final EventExecutor loop;
    private final Runnable refuse;
    private final Object client;
    private final long since;
    private volatile Stage stage;
    /** Since when it waits in the queue ({@link Stage#QUEUED}). */
    private volatile long queuedSince;
    /** Chosen to be refused for room; and gone (let go): both under the holder's lock. */
    private volatile boolean chosen;
    private boolean gone;
    private volatile long bytes;
    /** Bytes of it the spool counts ({@link BodySpool#reserve}); and, once chosen, those counted as room coming. */
    private volatile long kept;
    private long promised;
    /** The older and the newer mark: when, and the bytes read by then. The rate runs from the older. */
    private volatile long fromNanos;
    private volatile long fromBytes;
    private volatile long markNanos;
    private volatile long markBytes;

    /**
     * A body of {@code client} with {@code bytes} so far at {@code now}, being read unless {@code whole};
     * {@code refuse} runs on {@code loop} if it is chosen to make room.
     */
    SpoolHolder(EventExecutor loop, Runnable refuse, Object client, long now, long bytes, boolean whole) {
        this.loop = loop;
        this.refuse = refuse;
        this.client = client;
        this.since = now;
        this.stage = whole ? Stage.WHOLE : Stage.READING;
        this.bytes = bytes;
        this.fromNanos = now;
        this.fromBytes = bytes;
        this.markNanos = now;
        this.markBytes = bytes;
    }

    /** The body has {@code total} bytes now; on its loop. */
    void read(long total, long now) {
        bytes = total;
        if (now - markNanos >= WINDOW_NANOS) {
            fromNanos = markNanos;
            fromBytes = markBytes;
            markNanos = now;
            markBytes = total;
        }
    }

    /** The spool counts {@code total} bytes of the body now; on its loop. */
    void kept(long total) {
        kept = total;
    }

    /** The bytes of it the spool counts. */
    long kept() {
        return kept;
    }

    /** Bytes a second lately ({@link SpoolHolder}). */
    double rate(long now) {
        return Math.max(0, bytes - fromBytes) / Math.max(1e-3, (now - fromNanos) / 1e9);
    }

    Stage stage() {
        return stage;
    }

    /** Whose body it is, as the spool keys clients ({@link ClientConnectionLimit#client}); null: not known. */
    Object client() {
        return client;
    }

    /** When it was listed, on the spool's clock. */
    long since() {
        return since;
    }

    /** Since when it waits in the queue for its first worker ({@link Stage#QUEUED}), on the spool's clock. */
    long queuedSince() {
        return queuedSince;
    }

    /** Whether it was chosen to make room and not spared since: its bytes are on their way out. */
    boolean chosen() {
        return chosen;
    }

    /** The body is whole: no longer refusable for its rate. */
    void whole() {
        stage = Stage.WHOLE;
    }

    /**
     * The whole body waits in the queue for its first worker ({@code queued}), since now on {@code nanoTime}, the
     * spool's clock; or no longer does.
     */
    void queued(boolean queued, LongSupplier nanoTime) {
        if (queued && stage == Stage.WHOLE) {
            queuedSince = nanoTime.getAsLong();
            stage = Stage.QUEUED;
        } else if (!queued && stage == Stage.QUEUED) {
            stage = Stage.WHOLE;
        }
    }

    /** The whole body has been written whole to its worker ({@code sent}), or is being written again, or waits. */
    void sent(boolean sent) {
        if (sent && stage == Stage.WHOLE) {
            stage = Stage.SENT;
        } else if (!sent && stage == Stage.SENT) {
            stage = Stage.WHOLE;
        }
    }

    /**
     * Chooses it to make room, unless another look chose it first or it has gone: the bytes it keeps become room
     * coming, added to {@code promised} under its lock. Returns whether it was chosen now.
     */
    synchronized boolean claim(AtomicLong promised) {
        if (chosen || gone) {
            return false;
        }
        chosen = true;
        this.promised = kept;
        promised.addAndGet(this.promised);
        return true;
    }

    /** It was chosen but could not be refused: its bytes leave {@code promised}, and it may be chosen again. */
    synchronized void spare(AtomicLong promised) {
        if (chosen && !gone) {
            promised.addAndGet(-this.promised);
            this.promised = 0;
            chosen = false;
        }
    }

    /** The body has gone: its bytes, if they were room coming, leave {@code promised}; it is never chosen again. */
    synchronized void leave(AtomicLong promised) {
        gone = true;
        promised.addAndGet(-this.promised);
        this.promised = 0;
    }

    /**
     * Has its loop refuse the body (it was chosen).
     *
     * @throws java.util.concurrent.RejectedExecutionException when the loop is shutting down
     */
    void refuse() {
        loop.execute(refuse);
    }
}
