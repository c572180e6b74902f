package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.OutOfDescriptors;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.UncheckedIOException;

/**
 * One request's attempts on workers, one at a time: the worker the next one goes to (one the queue granted, one
 * {@link Retries} picks after a failure, the sticky session's, or the router's next), the wait in the router's queue
 * while there is none ({@link WorkerWait}), the attempt under way ({@link Attempt}: the connection, the request sent
 * on it, its clocks), and what its failure does: the worker taken out of reuse and told, then another attempt or the
 * proxy's own answer ({@link RetryDecision}), or the cut when part of the response reached the client already. It
 * also counts the body's bytes held in memory while the request has no worker connection
 * ({@link ProxyContext#holdWaitingBody}), until one takes them.
 *
 * <p>One per {@link Exchange}, and the listener of its request head's write ({@link #operationComplete}), which was
 * an object of its own per request before: no more allocation per request than before it was split off. Confined to
 * the client connection's event loop, as its exchange: the worker connection is registered on that loop, a connect
 * that completes elsewhere comes back to it ({@link Attempt#start}), and the queue wakes it there
 * ({@link WorkerWait}). Nothing here takes a lock.
 */
final class Attempts implements Attempt.Owner, RetryDecision.Owner, ChannelFutureListener {

    /** What the attempts ask of, and tell, their exchange, which hears the worker connection; on the event loop. */
    interface Owner extends UpstreamListener {

        /** Whether the exchange is over. */
        boolean finished();

        /** Whether the whole request, its body's last part included, has been read. */
        boolean requestComplete();

        /** The exchange's timers stop: the look for room in the request-body spool, the attempt's clocks, the wait. */
        void cancelTimers();

        /** {@code failed} (null: no worker) failed after part of the response reached the client: it is cut. */
        void cut(Endpoint failed, Failure failure, Throwable cause);

        /** The proxy answers {@code status} itself, with {@code reason}. */
        void fail(HttpResponseStatus status, String reason);

        /** 503: the request would wait for a worker with its body in memory past the proxy's bound. */
        void refuseBodyWaiting();

        /** The spooled part of the request body could not be read back to send it. */
        void bodyUnreadable(UncheckedIOException cause);
    }

    private final ProxyContext proxy;
    private final Owner owner;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final RequestHead head;
    private final RequestBody body;
    private final ResponseRelay relay;
    private final StickyBinding sticky;
    /** What follows a failed attempt; it holds the request's {@link Retries}. */
    private final RetryDecision retrying;
    /** The attempts made; one that could not connect does not count. */
    private int attempts;
    /** The attempt under way; null while none is. */
    private Attempt attempt;
    /** The request's wait in the router's queue; null while it does not wait there. */
    private WorkerWait wait;
    /** The request's place in the router's queue, once it has waited there ({@link WorkerWait#arrival}); 0 before. */
    private long arrival;
    /**
     * Bytes of its body held while it has no worker connection (read first, or arrived while it waits), counted in
     * the proxy's total ({@link ProxyContext#holdWaitingBody}) until it is connected to a worker or ends.
     */
    private long bytesWaiting;

    Attempts(ProxyContext proxy, Owner owner, ClientHandler client, ChannelHandlerContext ctx, RequestHead head,
             RequestBody body, ResponseRelay relay, StickyBinding sticky) {
        this.proxy = proxy;
        this.owner = owner;
        this.client = client;
        this.ctx = ctx;
        this.head = head;
        this.body = body;
        this.relay = relay;
        this.sticky = sticky;
        this.retrying = new RetryDecision(proxy, head, ctx.executor(), this);
    }

    /** The attempt under way; null while none is. */
    Attempt current() {
        return attempt;
    }

    /** The current attempt's worker connection, if it is connected; else null. */
    Channel upstream() {
        return attempt == null ? null : attempt.upstream();
    }

    /** The attempts made so far, as the access log and the metrics count them. */
    int count() {
        return attempts;
    }

    /** The request's retries; null while it had none. */
    Retries retries() {
        return retrying.retries();
    }

    @Override
    public void route() {
        route(null);
    }

    /** The next attempt, on {@code granted} (a worker the queue counted in for this request) or on one picked now. */
    private void route(Endpoint granted) {
        if (owner.finished()) {
            if (granted != null) {
                granted.release(false);
            }
            return;
        }
        Retries retries = retrying.retries();
        if (granted != null) {
            if (retries != null) {
                // The queue gave it a worker: nothing Retries waited for (a backoff) may route it again.
                retries.stop();
            }
            attemptOn(granted);
        } else if (retries != null) {
            Endpoint picked = retries.pick();
            if (picked == null) {
                awaitWorker(-1, retries);
            } else {
                attemptOn(picked);
            }
        } else {
            routeWithoutRetries();
        }
    }

    /**
     * A request with no retries: on its first attempt to its sticky session's worker, when its cookies name one;
     * else to the router's next (a tunnel's, for an upgrade), or it waits for one.
     */
    private void routeWithoutRetries() {
        Endpoint picked = null;
        // The sticky slot whose worker the request waits for, when it has to wait; negative: any worker.
        int waitSlot = -1;
        if (attempts == 0) {
            picked = sticky.pick();
            if (picked == null) {
                // When its worker holds the session's state and is only busy: the request waits for it.
                waitSlot = sticky.waitSlot();
            }
        }
        if (picked == null && waitSlot < 0) {
            picked = head.upgrade() ? proxy.router().pickForTunnel() : proxy.router().pick(null);
        }
        if (picked == null) {
            awaitWorker(waitSlot, null);
            return;
        }
        attemptOn(picked);
    }

    /**
     * No worker for the request now: it waits in the router's queue ({@link WorkerWait}) for one, or for the worker
     * of sticky slot {@code waitSlot} when that is not negative; unless {@code retries} waits for the fleet to change
     * already, or waiting would hold its body in memory past the proxy's bound.
     */
    private void awaitWorker(int waitSlot, Retries retries) {
        if (bytesWaiting > 0 && !proxy.waitingBodiesWithinLimit()) {
            // Waiting would hold its body in memory past what the proxy holds for all waiting requests.
            owner.refuseBodyWaiting();
            return;
        }
        if (retries == null || !retries.waiting()) {
            // A retry keeps its place in line, or gets one ahead of new requests: it arrived before them.
            wait = WorkerWait.start(proxy, ctx.executor(), waitSlot, head.upgrade(), arrival, retries != null,
                    this::route, reason -> owner.fail(HttpResponseStatus.SERVICE_UNAVAILABLE, reason));
            if (wait != null) {
                arrival = wait.arrival();
                if (attempts == 0) {
                    // Whole and waiting: refusable for room for another client's body (BodySpool#makeRoom).
                    body.queued(true);
                }
            }
        }
    }

    /** The next attempt, on {@code picked}, counted in for it. */
    private void attemptOn(Endpoint picked) {
        wait = null;
        body.queued(false);
        attempts++;
        attempt = new Attempt(proxy, this, picked, client.upstreams());
        // A request that a failure of its worker connection would leave unanswerable (not retriable, or its body
        // may go past what is held for a retry) is sent only on a connection that has settled (UpstreamPool); so is
        // a retry, lest every attempt meet a connection its worker is closing.
        attempt.start(ctx.channel().eventLoop(),
                attempts > 1 || !head.retriable() || !head.bodyless() && !owner.requestComplete());
    }

    @Override
    public void connected(Attempt connected) {
        if (connected != attempt || owner.finished()) {
            return;
        }
        releaseWaitingBytes();
        try {
            attempt.send(owner, head, body, !client.reading(), owner.requestComplete(), this);
        } catch (UncheckedIOException ex) {
            owner.bodyUnreadable(ex);
            return;
        }
        if (!owner.requestComplete() && !head.bodyless()) {
            ctx.channel().config().setAutoRead(attempt.upstream().isWritable());
        }
    }

    @Override
    public void notConnected(Attempt failed, Throwable cause) {
        if (failed != attempt || owner.finished()) {
            return;
        }
        // A request that was never sent uses up no attempt: it tries the other workers, or waits for a READY one.
        attempts--;
        attemptFailed(Failure.NOT_SENT, cause);
    }

    @Override
    public void timedOut(Attempt late, boolean body) {
        if (late == attempt) {
            attemptFailed(body ? Failure.BODY_TIMEOUT : Failure.TIMEOUT, null);
        }
    }

    /** The request head's write to the worker connection ({@link Attempt#send}): a failed one fails the attempt. */
    @Override
    public void operationComplete(ChannelFuture future) {
        if (!future.isSuccess() && attempt != null && future.channel() == attempt.upstream()) {
            attemptFailed(Failure.NOT_SENT, future.cause());
        }
    }

    /**
     * The attempt under way failed with {@code failure} ({@code cause}, if known): its worker is no longer reused, and
     * told unless the master could not open a socket for it; then the cut, when the response had started, or what
     * {@link RetryDecision} says.
     */
    void attemptFailed(Failure failure, Throwable cause) {
        if (owner.finished()) {
            return;
        }
        owner.cancelTimers();
        relay.discard();
        Endpoint failed = attempt == null ? null : attempt.endpoint();
        if (failed != null) {
            // A worker that dies resets every kept-alive connection to it: a retry must not pick another one. Out of
            // the rotation first when its process is gone, so that the slot this attempt gives back is not granted to
            // a waiting request on it.
            proxy.pool().drop(failed);
            if (!OutOfDescriptors.causedIt(cause)) {
                // Not the worker's failure when the master could not open a socket for it.
                failed.attemptFailed();
            }
        }
        drop();
        if (!owner.requestComplete()) {
            // Until the next attempt's connection takes it (connected), the rest of the body waits in the client's
            // socket, not in memory.
            ctx.channel().config().setAutoRead(false);
        }
        proxy.metrics().upstreamFailure(failure);
        if (relay.started()) {
            owner.cut(failed, failure, cause);
            return;
        }
        retrying.decide(failure, cause, failed, body.replayable(), attempts);
    }

    /** No attempt follows: the proxy answers; {@code budgetSpent}: one could have, but the retry budget was spent. */
    @Override
    public void answerFailure(Failure failure, Throwable cause, Endpoint failed, boolean budgetSpent) {
        RetryPolicy.Answer answer = FailureAnswers.workerFailed(proxy, head, failure, cause, failed, attempts,
                budgetSpent);
        owner.fail(answer.status(), answer.reason());
    }

    /** The attempt under way, if any, is given up: its connection closed, its worker counted out. */
    void drop() {
        body.stopPumping();
        if (attempt != null) {
            attempt.drop();
            attempt = null;
        }
    }

    /** The attempt under way has ended on its own terms (answered, handed to a tunnel, abandoned): none is now. */
    void forget() {
        attempt = null;
    }

    /** The attempt's clocks stop, and the request leaves the queue if it waits there. */
    void stopTimers() {
        if (attempt != null) {
            attempt.stopClocks();
        }
        stopWaiting();
    }

    /** The request leaves the router's queue, if it waits there; a worker granted to it meanwhile is given back. */
    void stopWaiting() {
        if (wait != null) {
            wait.cancel();
            wait = null;
        }
    }

    /** The wait in the queue, if any, is over already (it timed out, or the queue was full): it is let go. */
    void waitEnded() {
        wait = null;
    }

    /** Whether the request waits in the router's queue for its first worker: whole, with none tried yet. */
    boolean waitingForFirst() {
        return wait != null && attempts == 0;
    }

    /** {@code bytes} more of the body are held in memory with no worker connection, counted proxy-wide already. */
    void heldWaiting(int bytes) {
        bytesWaiting += bytes;
    }

    /**
     * {@code bytes} more of a streamed body are held in memory with no worker connection, and counted proxy-wide now;
     * returns false when that passes the proxy's bound while no attempt is under way (the request waits for a worker,
     * in the queue or between attempts): it is to be refused ({@link Owner#refuseBodyWaiting}).
     */
    boolean holdWaiting(int bytes) {
        bytesWaiting += bytes;
        return proxy.holdWaitingBody(bytes) || attempt != null;
    }

    /**
     * The bytes it held with no worker connection leave the proxy's total: they go to a worker's connection now (the
     * replay buffer holds them on, bounded per request by the retry buffer limit and in number by the requests in
     * flight), or the exchange is over.
     */
    void releaseWaitingBytes() {
        if (bytesWaiting != 0) {
            proxy.holdWaitingBody(-bytesWaiting);
            bytesWaiting = 0;
        }
    }
}
