package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Every way one exchange ends, and what each gives back: the worker's response whole ({@link #complete}), the
 * proxy's own answer ({@link #fail}), the response cut after its worker failed ({@link #cut}), the connection handed
 * to a tunnel ({@link #switched}), the client gone or refused ({@link #stop}); the request body refused, as too large
 * ({@link #refuseTooLarge}), as held in memory past the proxy's bound while it waits ({@link #refuseBodyWaiting}), or
 * as the one chosen to make room in the request-body spool ({@link #refusedForRoom}). All of them mark the exchange
 * finished once ({@link #end}), and end its timers, retries and body; those that answer also say whether the client
 * connection stays, and close it after the answer when it does not.
 *
 * <p>One per {@link Exchange}, in place of the method reference the request-body spool ran to refuse the body, which
 * was an object of its own per request before ({@link BodyReadFirst} is that now): no more allocation per request than
 * before it was split off. Confined to the client connection's event loop, as its exchange.
 */
final class ExchangeEnd {

    private final ProxyContext proxy;
    private final Exchange exchange;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final RequestHead head;
    private final RequestBody body;
    private final ResponseRelay relay;
    private final ResponseSpooling spooling;
    private final BodyReadFirst readFirst;
    private final Attempts attempts;
    private final ExchangeRecord record;
    private boolean finished;

    ExchangeEnd(ProxyContext proxy, Exchange exchange, ClientHandler client, ChannelHandlerContext ctx,
                RequestHead head, RequestBody body, ResponseRelay relay, ResponseSpooling spooling,
                BodyReadFirst readFirst, Attempts attempts, ExchangeRecord record) {
        this.proxy = proxy;
        this.exchange = exchange;
        this.client = client;
        this.ctx = ctx;
        this.head = head;
        this.body = body;
        this.relay = relay;
        this.spooling = spooling;
        this.readFirst = readFirst;
        this.attempts = attempts;
        this.record = record;
    }

    /** Whether the exchange is over: from then on nothing it was waiting for acts on it. */
    boolean finished() {
        return finished;
    }

    /** Whether the client connection may carry the next request, as far as the request and the proxy go. */
    boolean keepClient() {
        return head.keepAlive() && exchange.requestComplete() && !proxy.draining();
    }

    /**
     * The worker's response ended ({@code clean}: with its framing, so its connection may be reused): the attempt is
     * complete, and the exchange ends, or, while part of the response waits in a file, ends when the client has it.
     */
    void complete(boolean clean) {
        Attempt attempt = attempts.current();
        // A worker that answered before the whole spooled body was written to it has not read the rest: its
        // connection is out of step and is closed.
        boolean sent = !body.pumping(attempt.upstream());
        body.stopPumping();
        boolean keepClient = relay.keepClient() && keepClient();
        attempt.complete(clean && relay.reusable() && exchange.requestComplete() && sent, relay.keepAliveSeconds(),
                keepClient);
        attempts.forget();
        if (spooling.holds()) {
            // The worker is free; the exchange ends, and is logged, when the client has what the file holds.
            spooling.endWhenDrained(attempt.endpoint(), keepClient);
            return;
        }
        answered(attempt.endpoint(), keepClient);
    }

    /** The client has the response {@code worker} answered whole: logged and counted, and the exchange ends. */
    void answered(Endpoint worker, boolean keepClient) {
        record.completed(worker, attempts.count());
        finish(keepClient);
    }

    /**
     * The worker failed after part of the response reached the client: the client's message must end early too
     * (RFC 9112 §8), never look complete. Nothing more is written (no last chunk, no padding); the connection is
     * closed, and reset where the client's body is framed by the close, since a plain close would read as its end.
     */
    void cut(Endpoint failed, Failure failure, Throwable cause) {
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
    void endCut(Endpoint failed) {
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

    /** The worker's connection is {@code tunnel}'s now (the attempt handed it over): the exchange ends. */
    void switched(Tunnel tunnel) {
        attempts.forget();
        end();
        cancelTimers();
        body.release();
        client.switchProtocols(exchange, tunnel);
    }

    /** The proxy's own answer, when no worker could give one. */
    void fail(HttpResponseStatus status, String reason) {
        attempts.waitEnded();
        FailureAnswers.answering(head, status, reason);
        boolean keep = keepClient() && !relay.started();
        record.failed(status, attempts.count());
        client.raw().write(ErrorResponses.of(ctx.alloc(), status, reason, keep, head.http10(), head.isHead()));
        finish(keep);
    }

    /**
     * 413 for a body larger than {@code fleet.proxy.client-max-body-size} (RFC 9110 §15.5.14): by its
     * {@code Content-Length} before it is read, or when it passes the limit. A worker that has part of it loses the
     * connection (the request is incomplete); a response that had started is cut.
     */
    void refuseTooLarge() {
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

    /**
     * 503 for a request that would wait for a worker with its body in memory while the proxy already holds
     * {@link ProxyContext#WAITING_BODIES_LIMIT} of such bodies; it leaves the queue, or its wait between attempts.
     */
    void refuseBodyWaiting() {
        attempts.stopWaiting();
        fail(HttpResponseStatus.SERVICE_UNAVAILABLE, FailureAnswers.bodiesWaiting());
    }

    /**
     * The spool's bound was reached by another body, and this one was chosen to make room ({@link BodySpool#makeRoom}):
     * written whole to its worker, it gives up its copy for a retry; still being read, it gets 503 and the connection
     * closes; whole and waiting in the queue for its first worker, it leaves the queue with 503 (the connection stays,
     * the request being whole). Its bytes are given back. Spared when it is none of these by now.
     */
    void refusedForRoom() {
        if (finished) {
            return;
        }
        SpoolHolder holder = body.holder();
        Channel upstream = attempts.upstream();
        if (holder != null && holder.stage() == SpoolHolder.Stage.SENT && upstream != null && !body.pumping(upstream)) {
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

    /** The spooled part of the body could not be read back: the worker's connection is closed, the client told. */
    void bodyUnreadable(UncheckedIOException ex) {
        proxy.spool().failed(false, ex.getCause());
        attempts.drop();
        fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "the proxy could not read the request body it stored");
    }

    /** The response's file could not be read back: what it held is lost, and the response is cut. */
    void responseUnreadable(IOException cause) {
        proxy.responseSpool().failed(false, cause);
        attempts.drop();
        cut(null, Failure.SENT, null);
    }

    /**
     * The client went away ({@code refusal} 0), or the proxy refused the rest of the request with {@code refusal} and
     * closes the connection: the worker's connection is given up (it is mid-exchange), and the exchange ends.
     */
    void stop(int refusal) {
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
                attempt.abandon(exchange.requestComplete() && !body.pumping(attempt.upstream()));
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

    /** The exchange's timers stop: the look for room in the request-body spool, the attempt's clocks, the wait. */
    void cancelTimers() {
        readFirst.cancelRoomLook();
        attempts.stopTimers();
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
            if (!exchange.requestComplete()) {
                // The client may still be sending the body: closing now would reset the connection over the answer.
                LingeringClose.after(last);
            } else {
                last.addListener(ChannelFutureListener.CLOSE);
            }
        } else {
            ctx.flush();
        }
        client.exchangeDone(exchange, keepClient);
    }

    private void stopRetries() {
        Retries retries = attempts.retries();
        if (retries != null) {
            retries.stop();
        }
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
}
