package dev.shepherd.proxy;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of requests the proxy holds before it has decoded them, counted over all client connections, with a
 * limit: heads that have begun to arrive and are not complete yet, and pipelined requests waiting for the one before
 * them. A head arriving slowly is held until it ends (parsed fields, the unparsed rest): {@code max-header-size}
 * bounds one such head, {@code max-header-count} its fields, and this bounds them all together, so that many
 * connections each sending most of a head and then nothing (slowloris) cannot fill the master's heap before
 * {@code client-header-timeout} ends them. The limit is reached only by bytes held across reads: a head that arrives
 * in one piece is held and given back within one read. Past the limit the connection that would pass it gets 503
 * and is closed ({@link RequestDecoder}); what others hold is not affected. Any thread.
 */
final class UnfinishedHeads {

    /**
     * The default limit: 16 MB of head bytes, ~1,000 heads of 16 KB sent slowly at once, which the decoder holds
     * in about three times as much heap (fields parsed into entries and strings): within the 128 MB heap of the
     * README's master flags with room for the rest.
     */
    static final long LIMIT = 16L << 20;

    private final AtomicLong held = new AtomicLong();
    private final long limit;

    UnfinishedHeads(long limit) {
        this.limit = limit;
    }

    /** Counts {@code bytes} more; false, counting nothing, when the total would pass the limit. */
    boolean hold(long bytes) {
        while (true) {
            long now = held.get();
            if (now + bytes > limit) {
                return false;
            }
            if (held.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    /** Gives back {@code bytes} counted by {@link #hold}. */
    void release(long bytes) {
        held.addAndGet(-bytes);
    }

    /** Bytes counted now. */
    long held() {
        return held.get();
    }

    long limit() {
        return limit;
    }
}
