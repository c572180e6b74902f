package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import lombok.extern.slf4j.Slf4j;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One request on its way through the proxy, over one or more attempts on workers.
 *
 * <p>Confined to the client connection's event loop; the connection to the worker is registered on the same
 * loop, so nothing here takes a lock or crosses a thread. Nothing is aggregated: request and response parts are
 * forwarded as they arrive, except that a fixed-length response head waits for the first part of its body.
 * Request bodies up to the retry buffer limit are also held, so that an attempt that fails before the response
 * has started can be replayed on another worker.
 *
 * <p>Clocks: the response timeout runs from the moment the whole request has been passed to the worker connection
 * until the head of the final response arrives (held or not); from then on the body idle timeout runs between reads
 * from the worker, paused while the client is not reading. A response whose worker fails after part of it reached
 * the client is cut, never completed (RFC 9112 §8): no last chunk, and the client connection closed (reset, when
 * the client's body is framed by the close and a close would look like the end).
 */
@Slf4j
final class Exchange {

    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** How far an attempt got before it failed: decides whether it may be retried. */
    enum Failure { NOT_SENT, SENT, TIMEOUT, BODY_TIMEOUT }

    private final ProxyContext proxy;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final RequestHead head;
    private final RequestBody body;
    private final ChannelFutureListener headWritten = this::onHeadWritten;
    private final long startNanos = System.nanoTime();

    private boolean requestComplete;
    private int attempts;
    private Endpoint endpoint;
    /** Where retries go; null until an attempt fails (most requests never need it). */
    private Retries retries;
    private Channel upstream;
    private UpstreamHandler upstreamHandler;
    /** The head of the worker's final response has arrived, in this attempt. */
    private boolean headReceived;
    private boolean responseStarted;
    /** A response head not yet passed to the client, waiting for its body (see onResponseHead). */
    private ByteBuf heldHead;
    /** Whether the response body goes to the client in chunks the proxy makes (it had no framing). */
    private boolean rechunk;
    /** Whether the client's body is ended by closing the connection, so that a close cannot show a cut. */
    private boolean clientBodyUntilClose;
    private int keepAliveSeconds;
    private boolean responseKeepAlive;
    private boolean keepAfterResponse;
    private int status;
    private boolean finished;
    /** The queue-timeout timer while waiting for a READY worker (rare: a scheduled task is fine there). */
    private ScheduledFuture<?> timer;
    private final ResponseDeadlines.Entry deadline = new ResponseDeadlines.Entry(() -> attemptFailed(Failure.TIMEOUT, null));
    private final ResponseDeadlines.Entry bodyDeadline =
            new ResponseDeadlines.Entry(() -> attemptFailed(Failure.BODY_TIMEOUT, null));
    private Router.Waiter waiter;

    Exchange(ProxyContext proxy, ClientHandler client, ChannelHandlerContext ctx, RequestHead head) {
        this.proxy = proxy;
        this.client = client;
        this.ctx = ctx;
        this.head = head;
        this.body = new RequestBody(proxy.bufferLimit());
        this.requestComplete = head.request() instanceof LastHttpContent;
    }

    boolean requestComplete() {
        return requestComplete;
    }

    /** Whether part of the worker's final response has been written to the client. */
    boolean responseStarted() {
        return responseStarted;
    }

    void start() {
        proxy.budget().onRequest();
        if (!requestComplete && !head.bodyless()) {
            ctx.channel().config().setAutoRead(false);
        }
        route();
    }

    private void route() {
        route(null);
    }

    /** The next attempt, on {@code granted} (a worker the queue counted in for this request) or on one picked now. */
    private void route(Endpoint granted) {
        if (finished) {
            return;
        }
        Endpoint picked = granted != null ? granted : retries == null ? proxy.router().pick(null) : retries.pick();
        if (picked == null) {
            if (retries == null || !retries.waiting()) {
                waitForWorker();
            }
            return;
        }
        attempts++;
        endpoint = picked;
        UpstreamHandler pooled = proxy.pool().acquire(picked);
        if (pooled != null) {
            attach(pooled);
        } else {
            connect(picked);
        }
    }

    private void waitForWorker() {
        waiter = proxy.router().await(() -> ctx.executor().execute(this::woken));
        if (waiter == null) {
            fail(HttpResponseStatus.SERVICE_UNAVAILABLE, proxy.router().whyWaiting() + " and " + proxy.properties().queueLimit()
                    + " requests are already waiting for one");
            return;
        }
        timer = ctx.executor().schedule(() -> {
            if (waiter != null && proxy.router().cancel(waiter)) {
                waiter = null;
                fail(HttpResponseStatus.SERVICE_UNAVAILABLE, proxy.router().whyWaitedInVain() + " within "
                        + proxy.properties().queueTimeout().toMillis() + " ms");
            }
        }, proxy.properties().queueTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void woken() {
        // No waiter: the client went away after the grant, and abandon() gave the worker back.
        Endpoint granted = waiter == null ? null : waiter.takeGrant();
        waiter = null;
        cancelTimer();
        route(granted);
    }

    private void connect(Endpoint target) {
        proxy.connect(ctx.channel().eventLoop(), target.port()).addListener((ChannelFuture future) -> {
            if (finished || endpoint != target) {
                if (future.isSuccess()) {
                    future.channel().close();
                }
                return;
            }
            if (future.isSuccess()) {
                target.connected();
                attach(future.channel().pipeline().get(UpstreamHandler.class));
            } else {
                // A request that was never sent uses up no attempt: it tries the other workers, or waits for a
                // READY one. Refusals are bounded all the same: each one moves the worker towards ejection.
                target.connectRefused();
                attempts--;
                attemptFailed(Failure.NOT_SENT, future.cause());
            }
        });
    }

    private void attach(UpstreamHandler connection) {
        Channel channel = connection.channel();
        upstream = channel;
        upstreamHandler = connection;
        headReceived = false;
        upstreamHandler.attach(this, head.isHead(), head.http10());
        channel.write(head.request()).addListener(headWritten);
        body.writeTo(channel);
        if (!client.reading()) {
            channel.flush();
        }
        if (requestComplete) {
            armResponseTimeout();
        } else if (!head.bodyless()) {
            ctx.channel().config().setAutoRead(channel.isWritable());
        }
    }

    private void onHeadWritten(ChannelFuture future) {
        if (!future.isSuccess() && future.channel() == upstream) {
            attemptFailed(Failure.NOT_SENT, future.cause());
        }
    }

    /** A part of the request body from the client. */
    void onRequestContent(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        if (last) {
            requestComplete = true;
        }
        body.add(content, upstream);
        if (last && upstream != null) {
            if (!client.reading()) {
                upstream.flush();
            }
            if (!headReceived) {
                armResponseTimeout();
            }
        }
        if (upstream != null && !upstream.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    void flushUpstream() {
        if (upstream != null) {
            upstream.flush();
        }
    }

    /** A response part from the worker: a head, a part of the body, or its end (see {@link UpstreamDecoder}). */
    void onUpstreamMessage(Object message) {
        if (message instanceof ResponseHead response) {
            onResponseHead(response);
            return;
        }
        writeHeldHead();
        if (message == UpstreamDecoder.END || message == UpstreamDecoder.END_THEN_CLOSE) {
            if (rechunk) {
                client.raw().write(ctx.alloc().buffer(5).writeBytes(LAST_CHUNK));
            }
            complete(message == UpstreamDecoder.END);
            return;
        }
        ByteBuf part = (ByteBuf) message;
        if (rechunk) {
            writeAsChunk(part);
        } else {
            client.raw().write(part);
        }
        if (!ctx.channel().isWritable()) {
            upstream.config().setAutoRead(false);
        }
    }

    private void writeAsChunk(ByteBuf part) {
        ByteBuf size = ctx.alloc().buffer(10);
        size.writeCharSequence(Integer.toHexString(part.readableBytes()), StandardCharsets.US_ASCII);
        client.raw().write(size.writeByte('\r').writeByte('\n'));
        client.raw().write(part);
        client.raw().write(ctx.alloc().buffer(2).writeByte('\r').writeByte('\n'));
    }

    private void onResponseHead(ResponseHead response) {
        ByteBuf lines = response.lines();
        if (response.informational()) {
            forwardInterim(response);
            return;
        }
        // The response has started as far as the response timeout goes; the body idle timeout takes over when
        // this read is done (upstreamReadComplete), so a response read whole in one go never arms it.
        if (deadline.armed()) {
            proxy.deadlines().remove(deadline);
        }
        headReceived = true;
        status = response.status();
        responseKeepAlive = response.reusable();
        keepAliveSeconds = response.keepAliveSeconds();
        keepAfterResponse = head.prepareResponse(response, keepClient());
        rechunk = head.rechunks(response);
        clientBodyUntilClose = head.http10()
                && (response.body() == ResponseHead.Body.CHUNKED || response.body() == ResponseHead.Body.UNTIL_CLOSE);
        if (response.body() == ResponseHead.Body.FIXED) {
            // A head whose fixed-length body follows waits for its first part: a worker that dies in between has
            // then sent the client nothing, and the request can still go to another worker.
            heldHead = lines;
            return;
        }
        client.raw().write(lines);
        startResponse();
    }

    /**
     * A 1xx interim response goes on to an HTTP/1.1 client as it came; an HTTP/1.0 client must not get one
     * (RFC 9110 §15.2: a proxy does not forward 1xx to a client that cannot understand it), so it is dropped.
     */
    private void forwardInterim(ResponseHead response) {
        if (head.http10()) {
            response.release();
            return;
        }
        client.raw().writeAndFlush(response.lines().writeByte('\r').writeByte('\n'));
    }

    private void writeHeldHead() {
        if (heldHead != null) {
            client.raw().write(heldHead);
            heldHead = null;
            startResponse();
        }
    }

    private void releaseHeldHead() {
        if (heldHead != null) {
            heldHead.release();
            heldHead = null;
        }
    }

    private void startResponse() {
        responseStarted = true;
    }

    /** The end of a read from the worker: flushes what went to the client and restarts the body idle clock. */
    void upstreamReadComplete() {
        ctx.flush();
        if (headReceived) {
            watchBody();
        }
    }

    /**
     * Arms the body idle timeout from now, or pauses it while the worker connection is not read (the client is
     * not reading): a slow client is not a stalled worker.
     */
    private void watchBody() {
        long timeout = proxy.bodyIdleTimeoutNanos();
        if (timeout == 0 || finished || upstream == null) {
            return;
        }
        if (upstream.config().isAutoRead()) {
            proxy.bodyDeadlines().add(bodyDeadline, System.nanoTime() + timeout);
        } else {
            proxy.bodyDeadlines().remove(bodyDeadline);
        }
    }

    private boolean keepClient() {
        return head.keepAlive() && requestComplete && !proxy.draining();
    }

    private void complete(boolean clean) {
        boolean reuse = clean && responseKeepAlive && requestComplete && upstream.isActive();
        upstreamHandler.detach();
        if (reuse) {
            upstream.config().setAutoRead(true);
            proxy.pool().release(endpoint, upstreamHandler, keepAliveSeconds);
        } else {
            upstream.close();
        }
        upstream = null;
        endpoint.release(true);
        endpoint = null;
        proxy.metrics().completed(head, status, startNanos, attempts);
        finish(keepAfterResponse && keepClient());
    }

    /** The connection to the worker closed or failed while this exchange used it. */
    void onUpstreamClosed(Throwable cause) {
        if (!finished) {
            attemptFailed(Failure.SENT, cause);
        }
    }

    private void attemptFailed(Failure failure, Throwable cause) {
        if (finished) {
            return;
        }
        cancelTimer();
        releaseHeldHead();
        Endpoint failed = endpoint;
        dropUpstream();
        if (failed != null) {
            // A worker that dies resets every kept-alive connection to it: a retry must not pick another one.
            proxy.pool().drop(failed);
            failed.attemptFailed();
        }
        proxy.metrics().upstreamFailure(failure);
        if (responseStarted) {
            cut(failed, failure);
            return;
        }
        boolean allowed = failure == Failure.NOT_SENT || failure == Failure.SENT && head.retriable();
        if (allowed && body.replayable() && attempts < proxy.retry().maxAttempts() && proxy.budget().tryRetry()) {
            proxy.metrics().retried(failure);
            if (retries == null) {
                retries = new Retries(proxy.router(), ctx.executor(), proxy.retry().backoff().toNanos(), this::route);
            }
            if (failed != null) {
                retries.failedOn(failed);
            }
            route();
            return;
        }
        String worker = failed == null ? "the worker" : "worker " + failed.workerId();
        if (failure == Failure.TIMEOUT) {
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, worker + " did not answer within "
                    + proxy.properties().responseTimeout().toMillis() + " ms");
        } else if (failure == Failure.BODY_TIMEOUT) {
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, worker + " sent the head of its response but no body within "
                    + proxy.properties().bodyIdleTimeout().toMillis() + " ms");
        } else if (cause instanceof ConnectTimeoutException) {
            fail(HttpResponseStatus.GATEWAY_TIMEOUT, worker + " did not accept a connection within "
                    + proxy.properties().connectTimeout().toMillis() + " ms");
        } else if (failure == Failure.SENT && !head.retriable()) {
            fail(HttpResponseStatus.BAD_GATEWAY, worker + " failed while handling the request (" + describe(cause)
                    + "); not retried because " + head.request().method() + " is not idempotent"
                    + " (send an Idempotency-Key header to allow a retry)");
        } else {
            int tried = Math.max(1, attempts);
            fail(HttpResponseStatus.BAD_GATEWAY, worker + " failed (" + describe(cause) + ") after " + tried
                    + (tried == 1 ? " attempt" : " attempts"));
        }
    }

    /**
     * The worker failed after part of the response reached the client: the client's message must end early too
     * (RFC 9112 §8), never look complete. Nothing more is written (no last chunk, no padding); the connection is
     * closed, and reset where the client's body is framed by the close, since a plain close would read as its end.
     */
    private void cut(Endpoint failed, Failure failure) {
        log.debug("{} failed ({}) after the response started; cutting the response to the client", failed, failure);
        if (clientBodyUntilClose) {
            ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
        }
        // Closed once what came before is written (finish): closing at once would drop it on io_uring.
        finish(false);
    }

    private void dropUpstream() {
        if (upstream != null) {
            upstreamHandler.detach();
            upstream.close();
            upstream = null;
        }
        if (endpoint != null) {
            endpoint.release(false);
            endpoint = null;
        }
    }

    private void armResponseTimeout() {
        proxy.deadlines().add(deadline, System.nanoTime() + proxy.responseTimeoutNanos());
    }

    private void cancelTimer() {
        if (deadline.armed()) {
            proxy.deadlines().remove(deadline);
        }
        if (bodyDeadline.armed()) {
            proxy.bodyDeadlines().remove(bodyDeadline);
        }
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    /** The proxy's own answer, when no worker could give one. */
    private void fail(HttpResponseStatus status, String reason) {
        if (status.code() >= 500) {
            log.debug("{} {} -> {}: {}", head.request().method(), head.request().uri(), status.code(), reason);
        }
        boolean keep = keepClient() && !responseStarted;
        proxy.metrics().failed(head, status, startNanos);
        FullHttpResponse response = ErrorResponses.of(status, reason, keep);
        if (head.isHead()) {
            response.content().clear();
        }
        ctx.writeAndFlush(response);
        finish(keep);
    }

    private void finish(boolean keepClient) {
        finished = true;
        cancelTimer();
        releaseHeldHead();
        if (retries != null) {
            retries.stop();
        }
        body.release();
        if (!keepClient) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.flush();
        }
        client.exchangeDone(this, keepClient);
    }

    /** The client went away: give the worker connection up (it is mid-exchange) and stop. */
    void onClientClosed() {
        if (finished) {
            return;
        }
        finished = true;
        if (waiter != null) {
            proxy.router().abandon(waiter);
            waiter = null;
        }
        cancelTimer();
        releaseHeldHead();
        if (retries != null) {
            retries.stop();
        }
        dropUpstream();
        body.release();
    }

    void clientWritabilityChanged(boolean writable) {
        if (upstream != null) {
            upstream.config().setAutoRead(writable);
            if (headReceived) {
                watchBody();
            }
        }
    }

    void upstreamWritabilityChanged(boolean writable) {
        if (!requestComplete) {
            ctx.channel().config().setAutoRead(writable);
        }
    }


    private static String describe(Throwable cause) {
        if (cause == null) {
            return "connection closed before a response";
        }
        String message = cause.getMessage();
        return message == null ? cause.getClass().getSimpleName() : message;
    }
}
