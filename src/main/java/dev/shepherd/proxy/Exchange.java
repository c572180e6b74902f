package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One request on its way through the proxy, over one or more attempts on workers: the steps have a home each —
 * {@link Attempts} (the worker picked, the wait in the queue, the attempt under way and what follows its failure),
 * {@link ResponseRelay} (the response to the client), {@link ResponseSpooling} (the response through a file for a
 * client that reads slowly), {@link RetryDecision}, {@link RetryPolicy} and {@link Retries} (what follows a
 * failure), {@link Tunnel} (after a {@code 101}); {@link SpoolRoomWait} (a body read first that waits for room on
 * disk), {@link StickyBinding} (the sticky session) and {@link RequestClient} (who sent it).
 *
 * <p>Confined to the client connection's event loop; the connection to the worker is registered on the same
 * loop, so nothing here takes a lock or crosses a thread. Request bodies up to the retry buffer limit are held, so
 * that an attempt that fails before the response has started can be replayed on another worker.
 *
 * <p>Clocks: the response timeout runs from the moment the whole request has been passed to the worker connection
 * until the head of the final response arrives; from then on the body idle timeout runs between reads from the
 * worker, paused while the client is not reading. A response whose worker fails after part of it reached the
 * client is cut, never completed (RFC 9112 §8): no last chunk, and the client connection closed (reset, when the
 * client's body is framed by the close and a close would look like the end).
 */
final class Exchange implements Attempts.Owner, ResponseSpooling.Owner, BodyReadFirst.Owner {

    private final ProxyContext proxy;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final RequestHead head;
    private final RequestBody body;
    private final ResponseRelay relay;
    /** The response's way through a file, for a client that reads slower than the worker sends. */
    private final ResponseSpooling spooling;
    /** Who sent the request, as the access log and the request-body spool count clients. */
    private final RequestClient sender;
    /** The body, when it is read whole before a worker is picked ({@link ProxyContext#readsBodiesFirst}). */
    private final BodyReadFirst readFirst;
    /** The request's sticky session, by its cookies. */
    private final StickyBinding sticky;
    /** The attempts on workers: the one under way, the wait for one, what follows a failure. */
    private final Attempts attempts;
    /** The access-log line and the metrics the exchange leaves behind. */
    private final ExchangeRecord record;

    private boolean requestComplete;
    private boolean finished;

    Exchange(ProxyContext proxy, ClientHandler client, ChannelHandlerContext ctx, RequestHead head,
             long headStartedNanos) {
        long startNanos = System.nanoTime();
        this.proxy = proxy;
        this.client = client;
        this.ctx = ctx;
        this.head = head;
        this.body = new RequestBody(proxy.bufferLimit());
        this.relay = new ResponseRelay(client.raw(), head);
        this.spooling = new ResponseSpooling(proxy, client, ctx, relay, this);
        this.sender = new RequestClient(proxy, client, ctx, head);
        this.record = new ExchangeRecord(proxy, head, sender, relay, spooling, startNanos, headStartedNanos);
        this.readFirst = new BodyReadFirst(proxy, client, ctx, head, body, sender, this, this::refusedForRoom);
        this.sticky = new StickyBinding(proxy, head);
        this.attempts = new Attempts(proxy, this, client, ctx, head, body, relay, sticky);
        this.requestComplete = head.request() instanceof LastHttpContent;
    }

    @Override
    public boolean requestComplete() {
        return requestComplete;
    }

    /** Whether part of the worker's final response has been written to the client. */
    boolean responseStarted() {
        return relay.started();
    }

    void start() {
        proxy.exchangeStarted();
        proxy.budget().onRequest();
        if (!requestComplete && !head.bodyless()) {
            if (HttpUtil.getContentLength(head.request(), -1L) > proxy.maxBodySize()) {
                // Refused before a byte of the body is read, and before a client that waits for 100 Continue sends it.
                refuseTooLarge();
                return;
            }
            if (proxy.readsBodiesFirst()) {
                // A worker's slot is not taken while a slow client uploads: the body is read whole first, past the
                // retry buffer limit into a file (nginx's proxy_request_buffering and client_body_temp_path;
                // gunicorn's sync workers want a buffering proxy in front for this). A client that waits for 100
                // Continue gets it from the proxy (BodyReadFirst#begin says why).
                readFirst.begin();
                return;
            }
            ctx.channel().config().setAutoRead(false);
        }
        attempts.route();
    }

    /** The body read first is whole: the request goes to a worker, or waits for one. */
    @Override
    public void route() {
        attempts.route();
    }

    /** A part of the request body from the client. */
    void onRequestContent(HttpContent content) {
        int bytes = content.content().readableBytes();
        if (body.bytes() + bytes > proxy.maxBodySize()) {
            content.release();
            refuseTooLarge();
            return;
        }
        boolean last = content instanceof LastHttpContent;
        if (last) {
            requestComplete = true;
        }
        if (readFirst.reading()) {
            readFirst.part(content, bytes, last);
        } else {
            streamPart(content, bytes, last);
        }
    }

    /**
     * A part of a body streamed to the worker as it comes: written to the worker's connection when there is one,
     * else held in memory, counted proxy-wide, until a connection takes it. The client is not read while the worker's
     * connection takes no more.
     */
    private void streamPart(HttpContent content, int bytes, boolean last) {
        Channel upstream = upstream();
        body.add(content, upstream);
        if (upstream == null && bytes > 0 && !attempts.holdWaiting(bytes)) {
            // It waits for a worker (in the queue, or between attempts) with these bytes in memory: past the
            // proxy's bound, as route() would have answered had they come before it queued.
            refuseBodyWaiting();
            return;
        }
        if (last && upstream != null) {
            if (!client.reading()) {
                upstream.flush();
            }
            if (!relay.headReceived()) {
                attempts.current().armResponseTimeout();
            }
        }
        if (upstream != null && !upstream.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    /**
     * The spool's bound was reached by another body, and this one was chosen to make room ({@link BodySpool#makeRoom}):
     * written whole to its worker, it gives up its copy for a retry; still being read, it gets 503 and the connection
     * closes; whole and waiting in the queue for its first worker, it leaves the queue with 503 (the connection stays,
     * the request being whole). Its bytes are given back. Spared when it is none of these by now. On the loop.
     */
    private void refusedForRoom() {
        if (finished) {
            return;
        }
        BodySpool.Holder holder = body.holder();
        Channel upstream = upstream();
        if (holder != null && holder.stage() == BodySpool.Stage.SENT && upstream != null && !body.pumping(upstream)) {
            body.dropCopy();
        } else if (readFirst.reading()) {
            client.refuseSlowBody(FailureAnswers.slowestBodyRefused());
        } else if (attempts.waitingForFirst()) {
            attempts.stopWaiting();
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, FailureAnswers.mostHeldRefused());
        } else if (body.holder() != null) {
            proxy.spool().spared(body.holder());
        }
    }

    /**
     * 413 for a body larger than {@code fleet.proxy.client-max-body-size} (RFC 9110 §15.5.14): by its
     * {@code Content-Length} before it is read, or when it passes the limit. A worker that has part of it loses the
     * connection (the request is incomplete); a response that had started is cut.
     */
    private void refuseTooLarge() {
        attempts.stopWaiting();
        readFirst.stopReading();
        if (relay.started()) {
            attempts.drop();
            cut(null, Failure.SENT, null);
            return;
        }
        attempts.drop();
        fail(FailureAnswers.CONTENT_TOO_LARGE, FailureAnswers.tooLarge(proxy.maxBodySize()));
    }

    /** The current attempt's worker connection, if it is connected. */
    @Override
    public Channel upstream() {
        return attempts.upstream();
    }

    void flushUpstream() {
        Channel upstream = upstream();
        if (upstream != null) {
            upstream.flush();
        }
    }

    /**
     * Nothing is retried once part of the response has gone to the client: the copy of a body written whole, kept on
     * disk for a retry, is of no more use, and went, though a client reading its response slowly held it for as long
     * (found by a re-attacking helper: seven requests whose 4 MB responses were read at 2 KB/s kept every other upload
     * out).
     */
    private void dropCopyOnceAnswered() {
        if (body.spooled() && relay.started() && requestComplete && !body.pumping(upstream())) {
            body.dropCopy();
        }
    }

    /** The head of a response from the worker: an interim one goes on at once, the final one starts the relay. */
    private void onResponseHead(ResponseHead response) {
        Attempt attempt = attempts.current();
        if (response.informational()) {
            // With sticky sessions a 1xx's Set-Cookie (curl stores them) would pass the checks that only the
            // final head goes through (the sticky cookie's clash, the app cookie's learning): it is removed.
            relay.interim(response, proxy.sticky() != null || proxy.appCookies() != null);
            if (!ctx.channel().isWritable()) {
                // As for the body: the worker is not read while the client does not take what it was sent.
                attempt.upstream().config().setAutoRead(false);
            }
            return;
        }
        // The response has started as far as the response timeout goes; the body idle timeout takes over when
        // this read is done (upstreamReadComplete), so a response read whole in one go never arms it.
        attempt.headArrived();
        attempt.endpoint().answered(response.status());
        if (response.switchesProtocols()) {
            switchProtocols(response);
        } else {
            byte[] setCookie = sticky.line(response, attempt.endpoint().index(), attempts.retries());
            relay.head(response, keepClient(), setCookie);
            dropCopyOnceAnswered();
        }
    }

    /** A response part from the worker: a head, a part of the body, or its end (see {@link UpstreamDecoder}). */
    @Override
    public void onUpstreamMessage(Object message) {
        if (message instanceof ResponseHead response) {
            onResponseHead(response);
            return;
        }
        if (message == UpstreamDecoder.END || message == UpstreamDecoder.END_THEN_CLOSE) {
            relay.end();
            complete(message == UpstreamDecoder.END);
            return;
        }
        relay.body((ByteBuf) message);
        dropCopyOnceAnswered();
        if (spooling.full()) {
            // The rest cannot be kept for the client: the worker waits until the file is drained.
            upstream().config().setAutoRead(false);
        } else if (!spooling.active() && !ctx.channel().isWritable()) {
            // The client does not take what it was sent: the worker waits, and the response goes into a file if the
            // client is still behind in a moment.
            upstream().config().setAutoRead(false);
            spooling.lookToSpool();
        }
    }

    /** The response's file could not be read back: what it held is lost, and the response is cut. */
    @Override
    public void spoolUnreadable(IOException cause) {
        proxy.responseSpool().failed(false, cause);
        attempts.drop();
        cut(null, Failure.SENT, null);
    }

    @Override
    public boolean finished() {
        return finished;
    }

    @Override
    public void readWorker() {
        Channel upstream = upstream();
        if (upstream != null) {
            upstream.config().setAutoRead(true);
            attempts.current().watchBody();
        }
    }

    @Override
    public void answeredAfterSpool(Endpoint worker, boolean keepClient) {
        record.completed(worker, attempts.count());
        finish(keepClient);
    }

    @Override
    public void cutAfterSpool(Endpoint worker) {
        endCut(worker);
    }

    /**
     * The worker answered {@code 101}: the head goes to the client, and the two connections become a tunnel. A
     * protocol the client did not offer is the worker's fault (RFC 9110 §7.8), answered like a malformed response.
     */
    private void switchProtocols(ResponseHead response) {
        String mismatch = Upgrades.mismatch(head, response);
        if (mismatch != null) {
            response.release();
            attempts.attemptFailed(Failure.SENT, new DecoderException(mismatch));
            return;
        }
        relay.switching(response);
        Attempt attempt = attempts.current();
        AccessLog.Opened line = record.switched(attempt.endpoint(), attempts.count());
        Tunnel tunnel = new Tunnel(proxy, ctx.channel(), attempt.upstream(), attempt.endpoint(),
                Upgrades.isWebSocket(response.upgrade()), line);
        attempt.handOver(tunnel);
        attempts.forget();
        end();
        cancelTimers();
        body.release();
        client.switchProtocols(this, tunnel);
    }

    /** The end of a read from the worker: flushes what went to the client and restarts the body idle clock. */
    @Override
    public void upstreamReadComplete() {
        ctx.flush();
        Attempt attempt = attempts.current();
        if (relay.headReceived() && attempt != null) {
            attempt.watchBody();
        }
    }

    private boolean keepClient() {
        return head.keepAlive() && requestComplete && !proxy.draining();
    }

    private void complete(boolean clean) {
        Attempt attempt = attempts.current();
        // A worker that answered before the whole spooled body was written to it has not read the rest: its
        // connection is out of step and is closed.
        boolean sent = !body.pumping(attempt.upstream());
        body.stopPumping();
        boolean keepClient = relay.keepClient() && keepClient();
        attempt.complete(clean && relay.reusable() && requestComplete && sent, relay.keepAliveSeconds(), keepClient);
        attempts.forget();
        if (spooling.holds()) {
            // The worker is free; the exchange ends, and is logged, when the client has what the file holds.
            spooling.endWhenDrained(attempt.endpoint(), keepClient);
            return;
        }
        record.completed(attempt.endpoint(), attempts.count());
        finish(keepClient);
    }

    /** The connection to the worker closed or failed while this exchange used it. */
    @Override
    public void onUpstreamClosed(Throwable cause) {
        if (!finished) {
            attempts.attemptFailed(Failure.SENT, cause);
        }
    }

    /**
     * The worker failed after part of the response reached the client: the client's message must end early too
     * (RFC 9112 §8), never look complete. Nothing more is written (no last chunk, no padding); the connection is
     * closed, and reset where the client's body is framed by the close, since a plain close would read as its end.
     */
    @Override
    public void cut(Endpoint failed, Failure failure, Throwable cause) {
        FailureAnswers.cutting(failed, failure, cause);
        if (failed != null && spooling.holds()) {
            // What the worker sent before it failed goes to the client first, as nginx passes on its buffers before
            // it closes: the file was dropped with the cut, and a re-attacking helper's client got 1.6-4.3 of the
            // 10 MB sent.
            spooling.cutWhenDrained(failed);
            return;
        }
        endCut(failed);
    }

    /** The cut ({@link #cut}) is logged and counted, and the client's connection closed after what came before. */
    private void endCut(Endpoint failed) {
        // With no worker: the proxy's own limit on the request body, passed after the response began, not the
        // worker's doing (found by a re-attacking helper).
        record.cut(failed, attempts.count());
        if (relay.clientBodyUntilClose()) {
            // The close comes once what came before is written, after this exchange is done: CloseGuard resets it.
            client.bodyCut();
        }
        // Closed once what came before is written (finish): closing at once would drop it on io_uring.
        finish(false);
    }

    @Override
    public void cancelTimers() {
        readFirst.cancelRoomLook();
        attempts.stopTimers();
    }

    /**
     * 503 for a request that would wait for a worker with its body in memory while the proxy already holds
     * {@link ProxyContext#WAITING_BODIES_LIMIT} of such bodies; it leaves the queue, or its wait between attempts.
     */
    @Override
    public void refuseBodyWaiting() {
        attempts.stopWaiting();
        fail(HttpResponseStatus.SERVICE_UNAVAILABLE, FailureAnswers.bodiesWaiting());
    }

    /** The proxy's own answer, when no worker could give one. */
    @Override
    public void fail(HttpResponseStatus status, String reason) {
        attempts.waitEnded();
        FailureAnswers.answering(head, status, reason);
        boolean keep = keepClient() && !relay.started();
        record.failed(status, attempts.count());
        client.raw().write(ErrorResponses.of(ctx.alloc(), status, reason, keep, head.http10(), head.isHead()));
        finish(keep);
    }

    private void finish(boolean keepClient) {
        spooling.close();
        end();
        cancelTimers();
        relay.discard();
        stopRetries();
        body.release();
        if (!keepClient) {
            // The close waits for the answer's end: by client-send-timeout at most, as nginx's send_timeout.
            ChannelFuture last = ctx.writeAndFlush(Unpooled.EMPTY_BUFFER);
            ClientTimeouts.boundResponseClose(last, proxy.properties().clientSendTimeout().toNanos());
            if (!requestComplete) {
                // The client may still be sending the body: closing now would reset the connection over the answer.
                LingeringClose.after(last);
            } else {
                last.addListener(ChannelFutureListener.CLOSE);
            }
        } else {
            ctx.flush();
        }
        client.exchangeDone(this, keepClient);
    }

    private void stopRetries() {
        Retries retries = attempts.retries();
        if (retries != null) {
            retries.stop();
        }
    }

    /** Whether a response whose body ends with the connection is being relayed and has not ended. */
    boolean relaysBodyUntilClose() {
        return !finished && relay.clientBodyUntilClose();
    }

    /** Marks the exchange over, once: from now on the proxy's drain no longer waits for it. */
    private void end() {
        readFirst.stopWaitingForRoom();
        if (!finished) {
            finished = true;
            proxy.exchangeEnded();
            readFirst.stopReading();
            attempts.releaseWaitingBytes();
        }
    }

    @Override
    public void heldWaiting(int bytes) {
        attempts.heldWaiting(bytes);
    }

    /** The client went away: give the worker connection up (it is mid-exchange) and stop. */
    void onClientClosed() {
        stop(0);
    }

    /**
     * The proxy refused the rest of the request with {@code status} (a 408 for a body that stopped coming, a 400 for
     * a malformed chunk) and closes the client connection: as {@link #onClientClosed}, but the access log says
     * {@code status} unless the response had begun.
     */
    void onRefused(int status) {
        stop(status);
    }

    /** {@code refusal}: the status the proxy answers with itself, or 0: none, the client went away. */
    private void stop(int refusal) {
        if (finished) {
            return;
        }
        // nginx's 499: the client gave up (or half-closed, which ends an HTTP connection here) before its answer;
        // unless the proxy closed the connection itself, at the end of the shutdown's drain.
        boolean cut = refusal == 0 && proxy.cuttingClients();
        Attempt attempt = attempts.current();
        record.stopped(refusal, cut, attempt != null ? attempt.endpoint() : spooling.waitingWorker(), attempts.count());
        spooling.close();
        if (attempt != null) {
            // Before the answer the worker may still be working on the request: see Attempt.abandon. Before end(),
            // so that a request it keeps in flight is never counted out meanwhile (a stopping proxy reads the count).
            if (relay.headReceived()) {
                attempt.drop();
            } else {
                attempt.abandon(requestComplete && !body.pumping(attempt.upstream()));
            }
            attempts.forget();
        }
        end();
        cancelTimers();
        relay.discard();
        stopRetries();
        body.stopPumping();
        body.release();
    }

    void clientWritabilityChanged(boolean writable) {
        if (spooling.active()) {
            // The worker is read on while the file takes its parts (unless the spool's bound stopped it).
            if (writable) {
                spooling.drain();
            }
            return;
        }
        Channel upstream = upstream();
        if (upstream != null) {
            if (writable) {
                spooling.cancelSpoolLook();
            } else {
                spooling.lookToSpool();
            }
            upstream.config().setAutoRead(writable);
            if (relay.headReceived()) {
                attempts.current().watchBody();
            }
        }
    }

    @Override
    public void upstreamWritabilityChanged(boolean writable) {
        Channel upstream = upstream();
        if (writable && upstream != null && body.pumping(upstream)) {
            pumpBody(upstream);
            return;
        }
        if (!requestComplete) {
            ctx.channel().config().setAutoRead(writable);
            if (upstream != null && !relay.headReceived()) {
                attempts.current().sendStalled(!writable);
            }
        }
    }

    /** The spooled part of the body could not be read back: the worker's connection is closed, the client told. */
    @Override
    public void bodyUnreadable(UncheckedIOException ex) {
        proxy.spool().failed(false, ex.getCause());
        attempts.drop();
        fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "the proxy could not read the request body it stored");
    }

    /** The next part of a spooled body to the worker (the response timeout runs already: the request is whole). */
    private void pumpBody(Channel upstream) {
        try {
            body.pump(upstream);
        } catch (UncheckedIOException ex) {
            bodyUnreadable(ex);
            return;
        }
        upstream.flush();
    }
}
