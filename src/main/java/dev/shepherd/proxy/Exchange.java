package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One request on its way through the proxy, over one or more attempts on workers. It hears the client (the body's
 * parts, its writability, its going away) and the worker connection (the response's head and parts, its
 * writability) and passes each on to the part whose step it is: {@link Attempts} (the worker picked, the wait in the
 * queue, the attempt under way, and what follows its failure: {@link RetryDecision}, {@link RetryPolicy},
 * {@link Retries}), {@link ExchangeEnd} (every way it ends: answered, refused, cut, the client gone),
 * {@link ExchangeRecord} (its access-log line and metrics), {@link ResponseRelay} (the response to the client),
 * {@link ResponseSpooling} (the response through a file for a client that reads slowly), {@link Tunnel} (after a
 * {@code 101}), {@link BodyReadFirst} and {@link SpoolRoomWait} (a body read whole first, waiting for room on disk),
 * {@link StickyBinding} (the sticky session) and {@link RequestClient} (who sent it). Those parts are made with it,
 * one of each per exchange.
 *
 * <p>Confined to the client connection's event loop, and so are its parts; the connection to the worker is
 * registered on the same loop, so nothing here takes a lock or crosses a thread. Request bodies up to the retry buffer
 * limit are held, so that an attempt that fails before the response has started can be replayed on another worker.
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
    /** The body, when it is read whole before a worker is picked ({@link ProxyContext#readsBodiesFirst}). */
    private final BodyReadFirst readFirst;
    /** The request's sticky session, by its cookies. */
    private final StickyBinding sticky;
    /** The attempts on workers: the one under way, the wait for one, what follows a failure. */
    private final Attempts attempts;
    /** Every way the exchange ends, and whether it has. */
    private final ExchangeEnd end;
    /** The access-log line and the metrics the exchange leaves behind. */
    private final ExchangeRecord record;

    private boolean requestComplete;

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
        RequestClient sender = new RequestClient(proxy, client, ctx, head);
        this.record = new ExchangeRecord(proxy, head, sender, relay, spooling, startNanos, headStartedNanos);
        this.readFirst = new BodyReadFirst(proxy, client, ctx, head, body, sender, this);
        this.sticky = new StickyBinding(proxy, head);
        this.attempts = new Attempts(proxy, this, client, ctx, head, body, relay, sticky);
        this.end = new ExchangeEnd(proxy, this, client, ctx, head, body, relay, spooling, readFirst, attempts, record);
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
                end.refuseTooLarge();
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
            end.refuseTooLarge();
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
            end.refuseBodyWaiting();
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
            relay.head(response, end.keepClient(), setCookie);
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
            end.complete(message == UpstreamDecoder.END);
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
        end.switched(tunnel);
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

    /** The connection to the worker closed or failed while this exchange used it. */
    @Override
    public void onUpstreamClosed(Throwable cause) {
        if (!end.finished()) {
            attempts.attemptFailed(Failure.SENT, cause);
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

    /** The next part of a spooled body to the worker (the response timeout runs already: the request is whole). */
    private void pumpBody(Channel upstream) {
        try {
            body.pump(upstream);
        } catch (UncheckedIOException ex) {
            end.bodyUnreadable(ex);
            return;
        }
        upstream.flush();
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
    public void readWorker() {
        Channel upstream = upstream();
        if (upstream != null) {
            upstream.config().setAutoRead(true);
            attempts.current().watchBody();
        }
    }

    /** Whether a response whose body ends with the connection is being relayed and has not ended. */
    boolean relaysBodyUntilClose() {
        return !end.finished() && relay.clientBodyUntilClose();
    }

    /** The client went away: give the worker connection up (it is mid-exchange) and stop. */
    void onClientClosed() {
        end.stop(0);
    }

    /**
     * The proxy refused the rest of the request with {@code status} (a 408 for a body that stopped coming, a 400 for
     * a malformed chunk) and closes the client connection: as {@link #onClientClosed}, but the access log says
     * {@code status} unless the response had begun.
     */
    void onRefused(int status) {
        end.stop(status);
    }

    // What the parts it is made of tell it, and how each ends it (ExchangeEnd says more of each).

    @Override
    public boolean finished() {
        return end.finished();
    }

    @Override
    public void heldWaiting(int bytes) {
        attempts.heldWaiting(bytes);
    }

    @Override
    public void fail(HttpResponseStatus status, String reason) {
        end.fail(status, reason);
    }

    @Override
    public void cut(Endpoint failed, Failure failure, Throwable cause) {
        end.cut(failed, failure, cause);
    }

    @Override
    public void cancelTimers() {
        end.cancelTimers();
    }

    @Override
    public void refuseBodyWaiting() {
        end.refuseBodyWaiting();
    }

    @Override
    public void bodyUnreadable(UncheckedIOException cause) {
        end.bodyUnreadable(cause);
    }

    @Override
    public void refusedForRoom() {
        end.refusedForRoom();
    }

    @Override
    public void spoolUnreadable(IOException cause) {
        end.responseUnreadable(cause);
    }

    @Override
    public void answeredAfterSpool(Endpoint worker, boolean keepClient) {
        end.answered(worker, keepClient);
    }

    @Override
    public void cutAfterSpool(Endpoint worker) {
        end.endCut(worker);
    }
}
