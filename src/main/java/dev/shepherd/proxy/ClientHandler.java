package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import lombok.extern.slf4j.Slf4j;

import java.util.ArrayDeque;

/**
 * One client connection: turns each request into an {@link Exchange}, one at a time. Requests a client pipelines
 * behind the current one wait in order. A request the decoder or {@link RequestValidation} rejects (malformed,
 * smuggling-prone framing, folded or duplicated headers, oversized line or headers, an unsupported version or
 * coding) is answered 400, 414, 417, 431, 501 or 505 with the reason, and the connection is closed, so nothing
 * ambiguous ever reaches a worker. A client too slow with a head or a body is answered 408 ({@link ClientTimeouts}).
 * When a worker switches protocols ({@code 101}), the connection leaves HTTP for good: the decoder and the client
 * clocks are taken out of the pipeline and every byte goes to the {@link Tunnel}.
 */
@Slf4j
final class ClientHandler extends ChannelInboundHandlerAdapter {

    private final ProxyContext proxy;
    private final ArrayDeque<Object> pipelined = new ArrayDeque<>(0);
    private final ClientTimeouts timeouts;
    private ChannelHandlerContext ctx;
    /** Where worker responses are written: before the response encoder, since they are bytes already. */
    private ChannelHandlerContext raw;
    private Exchange current;
    private Tunnel tunnel;
    /** Set by {@link #bodyCut}; the connection is closing then. */
    private boolean bodyCut;
    private boolean closing;
    /**
     * An exchange ended while the client's output buffer was above its high-water mark: the next request waits until
     * the client reads (or the send timeout closes it), so a client that pipelines and never reads its answers holds
     * one response's worth of memory, not one per request.
     */
    private boolean awaitingDrain;
    /** Within a read batch from the client: writes to the worker are flushed once, when the batch ends. */
    private boolean reading;
    private ForwardedHeaders forwarded;
    /** This connection's claim on the worker connections its requests returned; made at its first response. */
    private UpstreamPool.Owner upstreams;

    /** This connection's claim on the worker connections it returns ({@link UpstreamPool.Owner}). */
    UpstreamPool.Owner upstreams() {
        if (upstreams == null) {
            upstreams = new UpstreamPool.Owner();
        }
        return upstreams;
    }

    /**
     * {@code reclaimable}: the connection's event loop's, where it is listed while idle, reading a head, or reading a
     * body first.
     */
    ClientHandler(ProxyContext proxy, ReclaimableConnections reclaimable) {
        this.proxy = proxy;
        this.timeouts = new ClientTimeouts(proxy.properties().clientHeaderTimeout(),
                proxy.properties().clientBodyTimeout(), proxy.properties().clientBodyMinRate().toBytes(),
                proxy.properties().keepAliveTimeout(),
                proxy.properties().clientSendTimeout(), this::timedOut, reclaimable,
                proxy.properties().requestBuffering(), this::bodyReclaimed);
    }

    /**
     * The proxy holds {@code max-connections} with none idle or reading a head, and this request's body, read before
     * any worker has the request, came the slowest: 503 with the reason (and {@code Retry-After}), and the
     * connection closes, so that a new client gets its place ({@link ReclaimableConnections}). Only closed when a
     * response has begun.
     */
    private void bodyReclaimed() {
        if (closing || !spokeHttp() || current == null || current.responseStarted()) {
            ctx.close();
            return;
        }
        // Its close makes the place: lingering for 30 s over a client that kept sending, 16 such (the slack at a
        // limit of 100) stopped every reclaim while they lasted (found by an attacking helper).
        respondAndClose(HttpResponseStatus.SERVICE_UNAVAILABLE, "the proxy holds fleet.proxy.max-connections client "
                + "connections, and this request's body came the slowest of those it was reading: another client "
                + "got the place", null, false, LingeringClose.RECLAIMED_TIME_NANOS);
    }

    /**
     * The request being read, whose body is read before any worker has it, is refused for {@code reason} (503 with
     * {@code Retry-After}) and the connection closes, as {@link #bodyReclaimed}: its body came slowest while the
     * request bodies kept on disk were at their bound ({@link BodySpool#makeRoom}). On the loop.
     */
    void refuseSlowBody(String reason) {
        if (closing || current == null || current.responseStarted()) {
            return;
        }
        respondAndClose(HttpResponseStatus.SERVICE_UNAVAILABLE, reason, null, false, LingeringClose.RECLAIMED_TIME_NANOS);
    }

    /** The handler that keeps this connection's client clocks: it goes first in the pipeline. */
    ClientTimeouts timeouts() {
        return timeouts;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.raw = ctx.pipeline().context(RequestDecoder.class);
    }

    ChannelHandlerContext raw() {
        return raw;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        forwarded = proxy.forwardedHeaders(ctx.channel().remoteAddress(), ctx.channel().localAddress());
        ctx.fireChannelActive();
    }

    /** The client's address, as {@code X-Forwarded-For} gets it. */
    String peer() {
        return forwarded.peer();
    }

    /** Whether the peer is a trusted proxy, whose {@code X-Forwarded-For} the forwarded request carries on. */
    boolean peerTrusted() {
        return forwarded.trusted();
    }

    boolean reading() {
        return reading;
    }

    /**
     * Whether a request is in progress or queued, or the connection is closing: the decoder then leaves the next
     * pipelined request undecoded until {@link #exchangeDone} resumes it. Event loop only.
     */
    boolean busy() {
        return current != null || !pipelined.isEmpty() || closing || tunnel != null || awaitingDrain;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        reading = true;
        if (tunnel != null) {
            tunnel.fromClient(msg);
        } else if (closing) {
            ReferenceCountUtil.release(msg);
        } else if (current != null && (msg instanceof HttpRequest || current.requestComplete()) || !pipelined.isEmpty()
                || awaitingDrain) {
            // A request pipelined behind the current one waits, and the client is not read further until the
            // current one is over: at most one read's worth of requests is ever queued.
            pipelined.add(msg);
            ctx.channel().config().setAutoRead(false);
        } else {
            dispatch(msg);
        }
    }

    private void dispatch(Object msg) {
        if (msg instanceof HttpObject object && object.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            // Netty hands on the request whose line it had parsed when a field failed; a refused line is a
            // placeholder of its own, a full request ("GET /bad-request"), which names nothing the client sent.
            HttpRequest parsed = msg instanceof HttpRequest request && !(msg instanceof FullHttpRequest) ? request : null;
            reject(object.decoderResult(), !(msg instanceof HttpRequest), parsed);
        } else if (msg instanceof HttpRequest request) {
            begin(request);
        } else if (msg instanceof HttpContent content && current != null) {
            if (content instanceof LastHttpContent last && !last.trailingHeaders().isEmpty()) {
                // A client's trailer fields are not forwarded (RFC 9112 §7.1.2 lets a recipient that removes the
                // chunked coding discard them): a worker that merged them into the headers would take a Host or an
                // X-Forwarded-For the proxy never checked, and a folded trailer line would reach it joined.
                last.trailingHeaders().clear();
            }
            timeouts.bodyDecoded(content.content().readableBytes());
            if (content instanceof LastHttpContent) {
                // Before the exchange sees it: it may end at once, and the connection go idle.
                timeouts.bodyComplete();
            }
            current.onRequestContent(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void begin(HttpRequest request) {
        if (request.method().equals(HttpMethod.CONNECT)) {
            ReferenceCountUtil.release(request);
            respondAndClose(HttpResponseStatus.METHOD_NOT_ALLOWED, "CONNECT is not supported: this is a reverse proxy",
                    request);
            return;
        }
        if (request.method().equals(HttpMethod.TRACE)) {
            // As nginx answers it: a worker would echo the request back, its Cookie and Authorization included, and
            // the X-Forwarded-* the proxy adds (RFC 9110 §9.3.8 warns of both).
            ReferenceCountUtil.release(request);
            respondAndClose(HttpResponseStatus.METHOD_NOT_ALLOWED, "TRACE is not forwarded: the answer would echo "
                    + "the request's credentials", request);
            return;
        }
        RequestHead head;
        try {
            head = RequestHead.prepare(request, forwarded, proxy.upgradeProtocols(), ctx.channel().localAddress());
        } catch (RequestDecoder.Rejected ex) {
            boolean headRequest = request.method().equals(HttpMethod.HEAD);
            ReferenceCountUtil.release(request);
            respondAndClose(ex.status(), ex.getMessage(), request, headRequest);
            return;
        }
        current = new Exchange(proxy, this, ctx, head, timeouts.headStartedNanos());
        timeouts.requestStarted(current.requestComplete());
        current.start();
    }

    /**
     * Answers a request the decoder refused; {@code inBody}: in its body (a chunk-size line), after a good head;
     * {@code parsed}: the request whose line was read, for the access log, or null.
     */
    private void reject(DecoderResult result, boolean inBody, HttpRequest parsed) {
        Throwable cause = result.cause();
        boolean headRequest = parsed != null && parsed.method().equals(HttpMethod.HEAD);
        if (cause instanceof RequestDecoder.Rejected rejected) {
            respondAndClose(rejected.status(), rejected.getMessage(), parsed, headRequest);
        } else if (cause instanceof TooLongHttpLineException && inBody) {
            respondAndClose(HttpResponseStatus.BAD_REQUEST, "a chunk-size line is longer than "
                    + proxy.properties().maxInitialLineLength().toBytes() + " bytes", parsed, headRequest);
        } else if (cause instanceof TooLongHttpLineException) {
            respondAndClose(HttpResponseStatus.REQUEST_URI_TOO_LONG, "the request line is longer than "
                    + proxy.properties().maxInitialLineLength().toBytes() + " bytes", parsed, headRequest);
        } else if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) {
            respondAndClose(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request headers are larger than "
                    + proxy.properties().maxHeaderSize().toBytes() + " bytes", parsed, headRequest);
        } else if (cause instanceof IllegalArgumentException) {
            // Netty's validation names the fault (a bad header name, a bad length); it may quote the client's bytes.
            respondAndClose(HttpResponseStatus.BAD_REQUEST, "malformed request: "
                    + RequestValidation.printable(String.valueOf(cause.getMessage()), 160), parsed, headRequest);
        } else {
            // Anything else is the decoder failing on bytes it did not expect: its message would describe Netty.
            respondAndClose(HttpResponseStatus.BAD_REQUEST, "malformed request framing", parsed, headRequest);
        }
    }

    private void respondAndClose(HttpResponseStatus status, String reason) {
        respondAndClose(status, reason, null, false);
    }

    private void respondAndClose(HttpResponseStatus status, String reason, HttpRequest request) {
        respondAndClose(status, reason, request, false);
    }

    /**
     * {@code request}: the refused request, as the access log names it (its content already released), or null when
     * there is none, or none to trust; {@code headRequest}: the refused request is a HEAD, whose answer has no body
     * (RFC 9110 §9.3.2).
     */
    private void respondAndClose(HttpResponseStatus status, String reason, HttpRequest request, boolean headRequest) {
        respondAndClose(status, reason, request, headRequest, LingeringClose.TIME_NANOS);
    }

    /** As above, dropping what the client still sends for {@code lingerNanos} at most ({@link LingeringClose}). */
    private void respondAndClose(HttpResponseStatus status, String reason, HttpRequest request, boolean headRequest,
                                 long lingerNanos) {
        closing = true;
        proxy.metrics().rejected(status);
        if (current != null) {
            current.onRefused(status.code());
            current = null;
        } else if (proxy.accessLog() != null) {
            // rt from the head's first bytes, as nginx times a request it refuses; "-" when none came.
            proxy.accessLog().request(peer(), request, status.code(), 0, timeouts.headStartedNanos(), -1, 0);
        }
        // Nothing more is decoded: on io_uring, a receive still under way when the connection closed kept the
        // kernel's socket open, uncounted, until the client sent or closed (measured, 2026-12-02). The close is
        // staged, as nginx's lingering_close: closed at once over bytes the client still sends (the rest of 300
        // header fields, of a body), the kernel reset the connection, and the reset could wipe the refusal from the
        // client's buffer before it read it (found by an attacking helper).
        ctx.channel().config().setAutoRead(false);
        ChannelFuture written = raw.writeAndFlush(ErrorResponses.of(ctx.alloc(), status, reason, false, false,
                headRequest));
        // The refusal's write is bounded too, as the lingering after it: a client that reads nothing held the
        // connection for ever, and a reclaimed one the place it was closed to make (found by a reviewing helper).
        ClientTimeouts.boundClose(written, lingerNanos);
        LingeringClose.after(written, lingerNanos);
    }

    /**
     * The worker switched protocols: from now on the connection carries the tunnel's bytes. The client clocks go
     * (the tunnel has its own idle timeout), the worker connections reserved for it close (no request follows),
     * and the decoder goes last: Netty hands on what it had buffered, which is already the new protocol's.
     */
    void switchProtocols(Exchange exchange, Tunnel opened) {
        if (exchange != current) {
            return;
        }
        current = null;
        tunnel = opened;
        tunnel.open();
        ctx.pipeline().remove(timeouts);
        ctx.pipeline().remove(RequestDecoder.class);
        raw = ctx;
        if (upstreams != null) {
            // No request follows on this connection: the worker connections reserved for it would sit unused
            // until their idle timeout.
            proxy.pool().closed(upstreams);
        }
        if (!pipelined.isEmpty()) {
            // The decoder refused what came after the request (past the proxy's limit of bytes held undecoded):
            // the tunnel would miss the client's first bytes, so it ends here.
            pipelined.forEach(ReferenceCountUtil::release);
            pipelined.clear();
            ctx.close();
        }
    }

    /** Called by the exchange when it is over; the next pipelined request, if any, starts. */
    void exchangeDone(Exchange exchange, boolean keepOpen) {
        if (exchange != current) {
            return;
        }
        boolean bodyUnread = !exchange.requestComplete();
        current = null;
        if (!keepOpen || bodyUnread) {
            closing = true;
            pipelined.forEach(ReferenceCountUtil::release);
            pipelined.clear();
            return;
        }
        if (!ctx.channel().isWritable()) {
            // Nothing more is read or started until the client drains its answers (channelWritabilityChanged); the
            // send timeout, not the keep-alive one, bounds the wait.
            awaitingDrain = true;
            ctx.channel().config().setAutoRead(false);
            return;
        }
        if (pipelinedWaits() && ClientTimeouts.pendingBytes(ctx.channel()) > 0) {
            // A request the client sent before reading this answer waits until the answer is written: below the
            // high-water mark the connection stayed writable, and a client that read nothing got request after
            // request started, holding its place for hundreds of them (found by an attacking helper). The send
            // timeout bounds the wait, counting again while the client reads some, as nginx's send_timeout.
            awaitingDrain = true;
            ctx.channel().config().setAutoRead(false);
            ChannelFuture written = raw.writeAndFlush(Unpooled.EMPTY_BUFFER);
            ClientTimeouts.boundResponseClose(written, proxy.properties().clientSendTimeout().toNanos());
            written.addListener(done -> {
                if (done.isSuccess() && awaitingDrain && !closing && ctx.channel().isActive()) {
                    awaitingDrain = false;
                    next();
                }
            });
            return;
        }
        next();
    }

    /** Whether the client sent more than the request just answered: queued, or parked undecoded. */
    private boolean pipelinedWaits() {
        return !pipelined.isEmpty()
                || raw.handler() instanceof RequestDecoder decoder && decoder.paused() && decoder.holdsParkedBytes();
    }


    /** Starts what the client sent after the exchange that just ended: a queued request, or reading on. */
    private void next() {
        // The decoder stops after a request that may switch protocols (until that request is over, what follows it
        // may be the new protocol's), and at a request pipelined behind one in progress (RequestDecoder): either way
        // it goes on below, from the bytes it parked.
        RequestDecoder paused = raw.handler() instanceof RequestDecoder decoder && decoder.paused() ? decoder : null;
        if (paused == null) {
            ctx.channel().config().setAutoRead(true);
        }
        while (current == null && !pipelined.isEmpty() && !closing) {
            dispatch(pipelined.poll());
        }
        while (current != null && !current.requestComplete() && !pipelined.isEmpty()
                && !(pipelined.peek() instanceof HttpRequest)) {
            dispatch(pipelined.poll());
        }
        if (paused != null && current == null && pipelined.isEmpty() && !closing) {
            // It got a plain response: the next request may be decoded. Later on the loop, never inside the
            // decoder's own read.
            ChannelHandlerContext decoderContext = raw;
            ctx.executor().execute(() -> resume(paused, decoderContext));
        }
        if (current == null && !closing) {
            timeouts.idle(paused != null && paused.holdsParkedBytes());
        }
    }

    /**
     * A client clock ran out: 408 with the reason, unless the response has started (then the connection is only
     * closed). Either way the exchange gives its worker connection up, since the worker has half a request.
     */
    private void timedOut(ClientTimeouts.Phase phase, boolean belowMinRate) {
        if (closing || !spokeHttp()) {
            // A TLS client still in its handshake would get a 408 in plain text, which it cannot read.
            ctx.close();
        } else if (phase == ClientTimeouts.Phase.HEAD) {
            respondAndClose(HttpResponseStatus.REQUEST_TIMEOUT, "the request head was not complete within "
                    + proxy.properties().clientHeaderTimeout().toMillis() + " ms (fleet.proxy.client-header-timeout)");
        } else if (current == null || !current.responseStarted()) {
            respondAndClose(HttpResponseStatus.REQUEST_TIMEOUT, belowMinRate
                    ? "the request body came slower than " + proxy.properties().clientBodyMinRate().toBytes()
                            + " bytes a second (fleet.proxy.client-body-min-rate)"
                    : "no more of the request body came within " + proxy.properties().clientBodyTimeout().toMillis()
                            + " ms (fleet.proxy.client-body-timeout)");
        } else {
            closing = true;
            current.onClientClosed();
            current = null;
            ctx.close();
        }
    }

    private void resume(RequestDecoder decoder, ChannelHandlerContext decoderContext) {
        if (decoderContext.isRemoved() || closing) {
            return;
        }
        try {
            decoder.resume(decoderContext);
        } catch (Exception ex) {
            decoderContext.fireExceptionCaught(ex);
        }
        if (current == null && !closing) {
            // What waited was part of a head only: reclaimable now, as a head left unfinished by a read.
            timeouts.headUnfinished();
        }
        // Read on only if the decoder did not pause again at the next pipelined request.
        if (!decoder.paused() && !closing) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        if (tunnel != null) {
            tunnel.clientReadComplete();
        } else if (current != null) {
            current.flushUpstream();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        if (tunnel != null) {
            tunnel.clientClosed();
        }
        if (current != null) {
            current.onClientClosed();
            current = null;
        }
        pipelined.forEach(ReferenceCountUtil::release);
        pipelined.clear();
        if (upstreams != null) {
            proxy.pool().closed(upstreams);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (awaitingDrain) {
            if (ctx.channel().isWritable() && !closing) {
                awaitingDrain = false;
                next();
            }
        } else if (tunnel != null) {
            tunnel.clientWritabilityChanged(ctx.channel().isWritable());
        } else if (current != null) {
            current.clientWritabilityChanged(ctx.channel().isWritable());
        }
    }

    /**
     * The client shut its output (a FIN; half-closure is allowed on client connections): a tunnel passes it on;
     * an HTTP connection is closed, as it would be without half-closure.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        // A TLS close_notify without a FIN ends the client's input as a FIN does (RFC 8446 §6.1).
        if (event instanceof ChannelInputShutdownEvent || event instanceof SslCloseCompletionEvent closed && closed.isSuccess()) {
            if (tunnel != null) {
                tunnel.clientInputShutdown();
            } else {
                ctx.close();
            }
        }
        ReferenceCountUtil.release(event);
    }

    /**
     * Whether an HTTP answer can reach the client: false while a TLS connection is still being told apart from plain
     * HTTP or is in its handshake.
     */
    private boolean spokeHttp() {
        if (ctx.pipeline().get(OptionalSslHandler.class) != null) {
            return false;
        }
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        return tls == null || tls.handshakeFuture().isSuccess();
    }

    /** A response whose body ends with the connection was cut short: the close that ends it must not look whole. */
    void bodyCut() {
        bodyCut = true;
    }

    /** Whether closing now would cut a response whose body ends with the connection ({@link CloseGuard}). */
    boolean closeWouldEndBodyEarly() {
        return bodyCut || current != null && current.relaysBodyUntilClose();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("Client connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
