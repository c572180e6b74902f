package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import lombok.extern.slf4j.Slf4j;

/**
 * The end of one connection to a worker: hands the response parts ({@link UpstreamDecoder}) to whoever uses the
 * connection ({@link UpstreamListener}: an exchange, or a tunnel after a {@code 101}), if anybody. A pooled idle connection has none: anything the worker sends on it, and its close,
 * closes it and takes it out of the pool at once.
 *
 * <p>Confined to the connection's event loop. It is also the connection's entry in {@link UpstreamPool}, which
 * alone touches the fields it keeps here, so that pooling allocates nothing per request.
 */
@Slf4j
final class UpstreamHandler extends ChannelInboundHandlerAdapter {

    private final UpstreamDecoder decoder;
    private final Channel channel;
    /**
     * The promise of the request's body writes: a failure is not fired as an exception (which would close the
     * connection with the worker's answer unread); it shuts the output, and the exchange goes on reading.
     */
    private final ChannelPromise bodyWrite;
    private final Runnable unasked;
    /**
     * The transport's {@code TCP_QUICKACK}, set once a response is under way ({@link #channelReadComplete}) and, when
     * another client's request may be next, once it has ended ({@link #ackAnswerEnd}); null: none.
     */
    private final ChannelOption<Boolean> quickAck;
    /** Quick ACKs asked for since the request was sent. */
    private boolean quickAcked;
    /** The end of the last answer was ACKed at once ({@link #ackAnswerEnd}). */
    private boolean answerAcked;
    /** When it was, in {@link System#nanoTime()} terms: valid while {@link #answerAcked}. */
    private long answerAckedAt;
    private UpstreamListener exchange;
    private Throwable error;

    /** The pool's idle list this connection is in, or null; see {@link UpstreamPool}. */
    UpstreamPool.Chain idleIn;
    UpstreamHandler newer;
    UpstreamHandler older;
    /** Reserved for {@link #owner}: its links in the owner's list ({@link UpstreamPool#MAX_RESERVED}). */
    UpstreamHandler reservedNewer;
    UpstreamHandler reservedOlder;
    /** It has carried a request body: only the client connection that returned it reuses it. */
    boolean carriedBody;
    /** When this idle connection stops being reused, in {@link System#nanoTime()} terms. */
    long idleUntil;
    /** When this connection went idle, in {@link System#nanoTime()} terms ({@code fleet.proxy.upstream-reuse-delay}). */
    long idleSince;
    /** The client connection that returned it to the pool, which may take it back at once; null: none. */
    UpstreamPool.Owner owner;
    /** The worker it goes to: set when an attempt takes it ({@link Attempt}), null before. */
    Endpoint endpoint;

    UpstreamHandler(UpstreamDecoder decoder, Channel channel) {
        this(decoder, channel, () -> { }, null);
    }

    /**
     * @param unasked told each time the worker sends bytes nobody asked for (a metric), on the loop's thread
     * @param quickAck the transport's {@code TCP_QUICKACK} option; null: none
     */
    UpstreamHandler(UpstreamDecoder decoder, Channel channel, Runnable unasked, ChannelOption<Boolean> quickAck) {
        this.decoder = decoder;
        this.channel = channel;
        this.unasked = unasked;
        this.quickAck = quickAck;
        this.bodyWrite = new VoidChannelPromise(channel, false);
    }

    /**
     * The promise to write a part of a request body to {@code upstream} with: on a worker connection, one whose
     * failure leaves the connection open for reading ({@link #bodyWrite}); elsewhere its void promise.
     */
    static ChannelPromise bodyWrite(Channel upstream) {
        UpstreamHandler handler = upstream.pipeline().get(UpstreamHandler.class);
        return handler == null ? upstream.voidPromise() : handler.bodyWrite;
    }

    /**
     * Whether the connection can carry another request: open, and its output not shut by a write that failed (the
     * worker stopped reading: it answered early and closed).
     */
    boolean reusable() {
        return channel.isActive() && !(channel instanceof DuplexChannel duplex && duplex.isOutputShutdown());
    }

    Channel channel() {
        return channel;
    }

    /** Gives the connection to an exchange whose request is about to be sent: see {@link UpstreamDecoder#expect}. */
    void attach(UpstreamListener exchange, boolean headRequest, boolean http10Client, boolean upgradeOffered) {
        this.exchange = exchange;
        this.error = null;
        this.quickAcked = false;
        this.answerAcked = false;
        decoder.expect(headRequest, http10Client, upgradeOffered);
    }

    /** Hands the connection, which switched protocols, to its tunnel: what the worker sends next goes there. */
    void handOver(UpstreamListener tunnel) {
        this.exchange = tunnel;
    }

    void detach() {
        this.exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (exchange != null) {
            if (msg == UpstreamDecoder.END_THEN_CLOSE && decoder.sentUnasked()) {
                outOfStep();
            }
            exchange.onUpstreamMessage(msg);
        } else {
            ReferenceCountUtil.release(msg);
            UpstreamPool.remove(this);
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (exchange != null) {
            if (!quickAcked) {
                // Part of the answer came and more is due: what came is ACKed at once, not after the delayed-ACK
                // timer. A worker that leaves Nagle's algorithm on and writes its head apart from its body
                // (Python's http.server, the JDK's HttpServer) holds the body until that ACK: ~40 ms a response
                // on a kept-alive connection, where the master's ACKs wait to ride on its next request. Linux
                // sends the pending ACK and leaves its delayed-ACK mode; once per request was enough in
                // bench/nagle.sh.
                quickAcked = true;
                askQuickAck(ctx.channel());
            }
            exchange.upstreamReadComplete();
        }
    }

    /**
     * The answer that just ended leaves the connection idle for another client's request: its last bytes are ACKed
     * at once, not left to ride on that request. A worker that leaves Nagle on holds anything it writes after
     * them until they are ACKed; so a late second response came right behind the next request and was taken for its
     * answer, and each later answer for the next one's, client after client, for as long as requests came within the
     * delayed-ACK time (an attacking helper: 24 of 40 clients on new connections got another's answer). ACKed now,
     * what it holds arrives while the connection is idle, where a byte nobody asked for closes it and marks the
     * worker ({@link #outOfStep}). Asked when the answer's client connection does not go on, for the answers a
     * client connection left to its next request when it closes ({@link UpstreamPool#closed}), and before another
     * client's request may take the connection ({@link UpstreamPool#acquire}); not at every answer's end, where an
     * ACK of its own for every answer cost a fifth of the keep-alive requests a second (bench/RESULTS.md). Once per
     * answer.
     *
     * @param now the time, in {@link System#nanoTime()} terms, kept as {@link #answerAckedAt()}
     */
    void ackAnswerEnd(long now) {
        if (!answerAcked) {
            answerAcked = true;
            answerAckedAt = now;
            askQuickAck(channel);
        }
    }

    /** Whether the end of the last answer was ACKed at once ({@link #ackAnswerEnd}). */
    boolean answerAcked() {
        return answerAcked;
    }

    /** When the end of the last answer was ACKed at once, in {@link System#nanoTime()} terms; only if {@link #answerAcked()}. */
    long answerAckedAt() {
        return answerAckedAt;
    }

    /**
     * Sets the transport's {@code TCP_QUICKACK}: the kernel sends the pending ACK at once. Not on a closed connection
     * (one closed in the read that brought a malformed answer): its error stands.
     */
    private void askQuickAck(Channel channel) {
        if (quickAck == null || !channel.isActive()) {
            return;
        }
        try {
            channel.config().setOption(quickAck, true);
        } catch (ChannelException ex) {
            // Closed under us: nothing is due any more.
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        // The worker closed its side (the connection allows half-closure so that UpstreamDecoder can tell a FIN
        // from a reset): a body framed by the close has ended by now, and the connection carries nothing more.
        if (event instanceof ChannelInputShutdownEvent && (exchange == null || !exchange.upstreamInputShutdown())) {
            ctx.close();
        }
        ReferenceCountUtil.release(event);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamPool.remove(this);
        UpstreamListener current = exchange;
        exchange = null;
        if (current != null) {
            current.onUpstreamClosed(error);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (exchange == null && decoder.sentUnasked()) {
            outOfStep();
        }
        error = cause;
        ctx.close();
    }

    /**
     * The worker sent bytes nobody asked for: taken for an answer, they would reach whoever's request goes on the
     * connection next, so the worker's connections are no longer reused ({@link Endpoint#markOutOfStep}), and the
     * operator is told once per worker process. On a connection that carried a request body, reserved for the body's
     * sender, they are what the worker made of that body: the connection closes, nothing else changes.
     */
    private void outOfStep() {
        unasked.run();
        if (endpoint == null) {
            return;
        }
        if (carriedBody) {
            // What it made of a body it did not read (a request smuggled in it): on this connection alone, reserved
            // for the body's sender and closed now. Marking the worker let any client that could post such a body
            // to an endpoint that ignores bodies cost a healthy worker a connection per request for the rest of its
            // life (an attacking helper: 78 % of its requests a second).
            if (endpoint.markAnsweredBody()) {
                log.warn("Worker {} answered what a request body held, after the end of the response to it (a request "
                        + "smuggled in a body it did not read): only the client that sent the body got it, and that "
                        + "connection is closed", endpoint.workerId());
            }
            return;
        }
        if (endpoint.markOutOfStep()) {
            log.warn("Worker {} sent bytes nobody asked for, after the end of a response or on an idle connection (a "
                    + "late second response): the connection is "
                    + "closed, and from now on it gets a new connection per request, so that such bytes cannot be "
                    + "taken for the answer to a later request", endpoint.workerId());
        } else {
            log.debug("Worker {} sent bytes nobody asked for again", endpoint.workerId());
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (exchange != null) {
            exchange.upstreamWritabilityChanged(ctx.channel().isWritable());
        }
    }
}
