package dev.shepherd.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.Ticker;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The client's clocks on one connection, as nginx has them: {@code client_header_timeout} from the opening (or the
 * first byte of a head) until the head is decoded, {@code client_body_timeout} between two reads of an unfinished
 * body, {@code keepalive_timeout} while the connection is idle; none of these while the request is complete and its
 * response is on its way (the response timeouts govern that). Besides them, in every phase, {@code send_timeout}: a
 * client that leaves the connection unwritable (Netty's write-buffer high-water mark passed and not yet drained to
 * the low one) for that long is not reading its response, and the connection is closed, so that it cannot hold a
 * worker's connection (and a {@code max-concurrency} slot) for ever. And a minimum body rate, Apache's
 * {@code mod_reqtimeout} {@code body=…,MinRate=…}: the body's clock starts at {@code client_body_timeout} and gains a
 * second for every {@code minRate} bytes of body as decoded, framing not counted ({@link #bodyDecoded}), never more
 * than twice {@code client_body_timeout} ahead, so that a body
 * trickled a byte per pause ends too, after a fast start as well. Neither body clock
 * runs while the proxy is not reading (auto-read off: the worker or the queue is not taking the body yet); the
 * rate clock learns of such a pause by sampling auto-read once a second. First in the client pipeline, so it sees
 * every raw read and every writability change.
 *
 * <p>Confined to the connection's event loop. One scheduled task per connection at most, never moved on a read:
 * like Netty's {@code IdleStateHandler} it reschedules itself when it fires before the deadline, and it is never
 * scheduled further than the shortest of the three timeouts ahead, so that a phase entered later, whose deadline is
 * at least that far away, never needs it cancelled. It is dropped when it fires while no clock runs.
 */
final class ClientTimeouts extends ChannelInboundHandlerAdapter {

    enum Phase { HEAD, BODY, SERVING, IDLE }

    /** How often the rate clock samples whether the proxy is reading. */
    static final long RATE_SAMPLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    /**
     * Told, on the event loop, that the head or body clock ran out, or that the client stopped reading; the idle
     * clock just closes the connection.
     */
    interface Expiry {
        /** {@code belowMinRate}: the body came, but slower on average than the minimum rate. */
        void timedOut(Phase phase, boolean belowMinRate);

        /** The connection stayed unwritable for the send timeout; the default closes it. */
        default void sendTimedOut(ChannelHandlerContext ctx) {
            ctx.close();
        }
    }

    private final long headerNanos;
    private final long bodyNanos;
    private final long keepAliveNanos;
    private final long sendNanos;
    /** Bytes a second a body must average; 0: no minimum. */
    private final long minRate;
    private final long shortestNanos;
    private final Expiry expiry;
    /** Where this connection is listed while idle, reading a head or reading a body first; null: nowhere. */
    private final ReclaimableConnections reclaimable;
    /** Answers the request whose body is being read and closes the connection, when it is reclaimed for room. */
    private final Runnable bodyReclaimed;
    /** Whether a body being read is listed: only when bodies are read before a worker has the request. */
    private final boolean reclaimBodies;
    private ReclaimableConnections.Entry entry;
    private final Runnable check = this::check;
    private ChannelHandlerContext ctx;
    private Ticker ticker;
    private Phase phase = Phase.SERVING;
    private long deadline;
    private ScheduledFuture<?> timer;
    /** Bytes of a next request arrived while the current one was served: its head clock starts when it is done. */
    private boolean readWhileServing;
    /** The connection is unwritable; the client must drain it by {@link #sendDeadline}. */
    private boolean stalled;
    private long sendDeadline;
    /** The last write a close waits for, which must be done by {@link #closeDeadline}; null when none is waited for. */
    private ChannelFuture closingWrite;
    private long closeDeadline;
    /**
     * For a close after a response ({@link #boundResponseClose}): the bound counts again from each time the bytes left
     * to write went down (nginx's {@code send_timeout}, between two writes); 0 for a close bounded in all.
     */
    private long closeExtendsBy;
    /** The bytes left to write when last looked at; -1 before the first look, {@link #BASELINE_NANOS} in. */
    private long closePending;
    /** How long after a close's bound starts what is left to write is first looked at. */
    static final long BASELINE_NANOS = TimeUnit.SECONDS.toNanos(1);
    /** When what is left to write is first looked at ({@link #BASELINE_NANOS} after the bound started). */
    private long closeBaselineAt;
    /**
     * The body's rate clock: when the body falls below the minimum rate (moved on by its bytes and by the time the
     * proxy was not reading it, never more than {@link #rateBankNanos} ahead), and its last sample.
     */
    private long rateDeadline;
    private long bodySampled;
    /**
     * How far ahead of now the rate clock can be: twice {@code client_body_timeout}. Without a bound, a body that came
     * fast at first earned hours (a second per {@code minRate} bytes: 10 MB at 240 bytes a second, 12 h) that a byte
     * a minute then kept, and its temporary file with it.
     */
    private final long rateBankNanos;

    /** {@code minRate}: bytes a second a body must average after {@code body} of grace; 0: no minimum. */
    ClientTimeouts(Duration header, Duration body, long minRate, Duration keepAlive, Duration send, Expiry expiry) {
        this(header, body, minRate, keepAlive, send, expiry, null, false, null);
    }

    /**
     * As above, and the connection is listed in {@code reclaimable} (its event loop's) while it is idle or reading a
     * head, and while it reads a body when {@code reclaimBodies} (bodies are read before a worker has the request),
     * so that it may be closed to let a new connection in at {@code max-connections}; a body's request is answered
     * by {@code bodyReclaimed} then.
     */
    ClientTimeouts(Duration header, Duration body, long minRate, Duration keepAlive, Duration send, Expiry expiry,
                   ReclaimableConnections reclaimable, boolean reclaimBodies, Runnable bodyReclaimed) {
        this.reclaimable = reclaimable;
        this.reclaimBodies = reclaimBodies;
        this.bodyReclaimed = bodyReclaimed;
        this.headerNanos = header.toNanos();
        this.bodyNanos = body.toNanos();
        this.minRate = minRate;
        this.keepAliveNanos = keepAlive.toNanos();
        this.sendNanos = send.toNanos();
        this.rateBankNanos = 2 * bodyNanos;
        this.shortestNanos = Math.min(Math.min(headerNanos, bodyNanos), Math.min(keepAliveNanos, sendNanos));
        this.expiry = expiry;
    }

    /** See {@link #headStartedNanos()}. */
    private long headStartedNanos = -1;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.ticker = ctx.executor().ticker();
        if (reclaimable != null) {
            entry = new ReclaimableConnections.Entry(ctx::close, bodyReclaimed != null ? bodyReclaimed : ctx::close,
                    ctx.channel().closeFuture());
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (entry != null) {
            reclaimable.addFresh(entry);
        }
        enter(Phase.HEAD, headerNanos);
        ctx.fireChannelActive();
    }

    /**
     * Reads that left a head unfinished, on a new connection or an idle one, make it an unfinished head's: only then,
     * so that a head that comes whole within its read (every kept-alive request, nearly) moves the connection in the
     * lists no more than off and back.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (entry != null && phase == Phase.HEAD && entry.listed()) {
            reclaimable.addHead(entry);
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (headStartedNanos < 0 && (phase == Phase.IDLE || phase == Phase.HEAD)) {
            headStartedNanos = System.nanoTime();
        }
        // Before the read goes on: what it decodes may move to another phase at once.
        switch (phase) {
            case IDLE -> enter(Phase.HEAD, headerNanos);
            case BODY -> deadline = ticker.nanoTime() + bodyNanos;
            case SERVING -> readWhileServing = true;
            case HEAD -> { }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * {@code bytes} of the current request's body were decoded: they count towards the minimum rate, and only they.
     * Raw bytes counted chunk-size lines (a 4 KB line of zeros before each byte of body), chunk extensions and TLS
     * records too: a client could keep the rate with framing alone, a byte of body per 240 bytes sent.
     */
    void bodyDecoded(int bytes) {
        if (phase == Phase.BODY) {
            earn(bytes);
            if (entry != null) {
                entry.bodyRead(bytes);
            }
        }
    }

    /** A request head was decoded; its body is complete (or there is none) or still to come. */
    void requestStarted(boolean complete) {
        readWhileServing = false;
        headStartedNanos = -1;
        if (complete) {
            phase(Phase.SERVING);
        } else {
            enter(Phase.BODY, bodyNanos);
            if (minRate > 0) {
                bodySampled = ticker.nanoTime();
                rateDeadline = bodySampled + bodyNanos;
                if (timer != null && timer.getDelay(TimeUnit.NANOSECONDS) > RATE_SAMPLE_NANOS) {
                    timer.cancel(false);
                    timer = null;
                }
                if (timer == null) {
                    schedule(Math.min(RATE_SAMPLE_NANOS, shortestNanos));
                }
            }
        }
    }

    /**
     * {@code bytes} of body came: a second for every {@code minRate} of them on the rate clock, up to
     * {@link #rateBankNanos} from now.
     */
    private void earn(long bytes) {
        if (minRate > 0) {
            long earned = bytes / minRate * 1_000_000_000L + bytes % minRate * 1_000_000_000L / minRate;
            rateDeadline = Math.min(rateDeadline + Math.min(earned, rateBankNanos), ticker.nanoTime() + rateBankNanos);
        }
    }

    /** The request body is complete. */
    void bodyComplete() {
        if (phase == Phase.BODY) {
            readWhileServing = false;
            phase(Phase.SERVING);
        }
    }

    /** The exchange is over, the connection stays open and no request waits: idle, or a next head has begun. */
    void idle() {
        idle(false);
    }

    /**
     * As {@link #idle()}; {@code pending}: bytes of what follows were read already and wait to be decoded (the
     * decoder paused at a pipelined request), so the next head's clock runs from now, and the connection is not
     * reclaimable until they are decoded ({@link #headUnfinished()}): it may hold a whole request the client sent
     * (found by an attacking helper: 24 of 300 pipelined pairs lost their second request at the limit).
     */
    void idle(boolean pending) {
        if (pending) {
            readWhileServing = false;
            headStartedNanos = System.nanoTime();
            enter(Phase.HEAD, headerNanos);
            if (entry != null) {
                reclaimable.remove(entry);
            }
        } else if (readWhileServing) {
            // The next head's first bytes came while this exchange went on: its time runs from now.
            headStartedNanos = System.nanoTime();
            enter(Phase.HEAD, headerNanos);
        } else {
            enter(Phase.IDLE, keepAliveNanos);
        }
    }

    /**
     * The bytes that waited to be decoded after {@link #idle(boolean)} left a head unfinished: reclaimable as such
     * from now, as after a read.
     */
    void headUnfinished() {
        if (entry != null && phase == Phase.HEAD && !entry.listed()) {
            reclaimable.addHead(entry);
        }
    }

    /**
     * {@link System#nanoTime()} when the first bytes of the head being read came (nginx's {@code $request_time} runs
     * from them), or when the proxy turned to a pipelined head read before; -1 when none has begun.
     */
    long headStartedNanos() {
        return headStartedNanos;
    }

    Phase phase() {
        return phase;
    }

    /**
     * Moves to {@code next}, listed as reclaimable in {@link Phase#IDLE} and {@link Phase#HEAD} (a new connection as
     * fresh: {@link ReclaimableConnections}), and in {@link Phase#BODY} as a body when {@link #reclaimBodies}. A
     * connection whose next head has begun joins the unfinished heads once the read that brought it is over
     * ({@link #channelReadComplete}), if the head is still unfinished.
     */
    private void phase(Phase next) {
        phase = next;
        if (entry != null) {
            switch (next) {
                case IDLE -> reclaimable.addIdle(entry);
                case HEAD -> {
                    // A new or idle connection keeps its list until its read is over (channelReadComplete).
                    if (!entry.listed()) {
                        reclaimable.addHead(entry);
                    }
                }
                case BODY -> {
                    if (reclaimBodies) {
                        reclaimable.addBody(entry);
                    } else {
                        reclaimable.remove(entry);
                    }
                }
                case SERVING -> reclaimable.remove(entry);
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            stalled = false;
        } else if (!stalled) {
            stalled = true;
            sendDeadline = ticker.nanoTime() + sendNanos;
            if (timer == null) {
                schedule(shortestNanos);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    /**
     * The connection closes once {@code written}, its last write, is done (the response's end, then maybe a lingering
     * close): closed anyway when that takes longer than {@code nanos}, counting again whenever some of what is left
     * was written meanwhile when {@code whileWriting} (nginx's {@code send_timeout}: a response's end to a client
     * that reads slowly is not cut, one to a client that reads nothing is). A client that reads nothing (a zero
     * receive window) with less than the write buffer's high-water mark unsent never made the connection unwritable,
     * so the send timeout never ran, and the close waited for ever, the connection out of every reclaimable list: 50
     * such held a {@code max-connections} of 50 as long as the client kept its sockets (found by a reviewing helper).
     * On the connection's event loop, as every method here.
     */
    private void closeAfter(ChannelFuture written, long nanos, boolean whileWriting) {
        if (written.isDone()) {
            return;
        }
        closingWrite = written;
        closeDeadline = ticker.nanoTime() + nanos;
        closeExtendsBy = whileWriting ? nanos : 0;
        // What is left is read a moment later: now, a write in flight (io_uring's) that then completed counted as
        // the client reading, and a client that read nothing held the connection twice the bound (found by an
        // attacking helper).
        closePending = -1;
        long first = whileWriting ? Math.min(nanos, BASELINE_NANOS) : nanos;
        closeBaselineAt = closeDeadline - nanos + first;
        if (timer != null && timer.getDelay(TimeUnit.NANOSECONDS) > first) {
            timer.cancel(false);
            timer = null;
        }
        if (timer == null) {
            schedule(Math.min(first, shortestNanos));
        }
    }

    /**
     * {@link #closeAfter} bounded in all, by the {@code ClientTimeouts} of {@code written}'s channel; where it has none
     * (a TLS port's refusal before the HTTP handlers), by a timer of its own. On the channel's event loop.
     */
    static void boundClose(ChannelFuture written, long nanos) {
        boundClose(written, nanos, false);
    }

    /** {@link #closeAfter} counting again while the client reads some, as {@link #boundClose(ChannelFuture, long)}. */
    static void boundResponseClose(ChannelFuture written, long nanos) {
        boundClose(written, nanos, true);
    }

    private static void boundClose(ChannelFuture written, long nanos, boolean whileWriting) {
        ClientTimeouts timeouts = written.channel().pipeline().get(ClientTimeouts.class);
        if (timeouts != null && timeouts.ctx != null) {
            timeouts.closeAfter(written, nanos, whileWriting);
        } else if (!written.isDone()) {
            Channel channel = written.channel();
            ScheduledFuture<?> guard = channel.eventLoop().schedule((Runnable) channel::close, nanos,
                    TimeUnit.NANOSECONDS);
            written.addListener(done -> guard.cancel(false));
        }
    }

    /** Bytes queued on {@code channel} and not yet taken by its socket. */
    static long pendingBytes(Channel channel) {
        io.netty.channel.ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    private void enter(Phase next, long timeoutNanos) {
        phase(next);
        deadline = ticker.nanoTime() + timeoutNanos;
        if (timer == null) {
            schedule(shortestNanos);
        }
    }

    private void schedule(long delayNanos) {
        timer = ctx.executor().schedule(check, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void check() {
        timer = null;
        if (!ctx.channel().isActive()) {
            return;
        }
        long now = ticker.nanoTime();
        long next = Long.MAX_VALUE;
        if (closingWrite != null) {
            if (closePending < 0 && now - closeBaselineAt >= 0 && closeDeadline - now > 0) {
                closePending = pendingBytes(ctx.channel());
            }
            if (closingWrite.isDone()) {
                closingWrite = null;
            } else if (closeDeadline - now <= 0) {
                long pending = pendingBytes(ctx.channel());
                if (closeExtendsBy > 0 && pending < closePending) {
                    closePending = pending;
                    closeDeadline = now + closeExtendsBy;
                    next = closeExtendsBy;
                } else {
                    closingWrite = null;
                    ctx.close();
                    return;
                }
            } else {
                next = closePending < 0 ? Math.max(1, closeBaselineAt - now) : closeDeadline - now;
            }
        }
        if (stalled) {
            if (sendDeadline - now <= 0) {
                stalled = false;
                phase(Phase.SERVING);
                expiry.sendTimedOut(ctx);
                return;
            }
            next = sendDeadline - now;
        }
        if (phase != Phase.SERVING) {
            boolean belowMinRate = false;
            if (phase == Phase.BODY) {
                if (!ctx.channel().config().isAutoRead()) {
                    // The proxy is not reading the body (the worker is not taking it yet): not the client's pause.
                    deadline = now + bodyNanos;
                    rateDeadline = Math.min(rateDeadline + (now - bodySampled), now + rateBankNanos);
                }
                bodySampled = now;
                if (minRate > 0) {
                    long rateLeft = rateDeadline - now;
                    belowMinRate = rateLeft <= 0 && deadline - now > 0;
                    next = Math.min(next, Math.max(Math.min(rateLeft, RATE_SAMPLE_NANOS), 1));
                }
            }
            long left = belowMinRate ? 0 : deadline - now;
            if (left <= 0) {
                Phase expired = phase;
                phase(Phase.SERVING);
                if (expired == Phase.IDLE) {
                    ctx.close();
                } else {
                    expiry.timedOut(expired, belowMinRate);
                }
                return;
            }
            next = Math.min(next, left);
        }
        if (next != Long.MAX_VALUE) {
            schedule(Math.min(next, shortestNanos));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    private void cancel() {
        phase(Phase.SERVING);
        stalled = false;
        closingWrite = null;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
