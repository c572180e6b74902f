package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.OutOfDescriptors;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;

/**
 * One try of a request on one worker: the worker counted in ({@link Endpoint#tryAcquire}, by the router), a
 * connection to it (a pooled one, or a new one on the client's event loop), and the two clocks that run while the
 * worker answers — the response timeout until the head of its final response, then the body idle timeout between
 * reads. It ends in exactly one way: the connection goes back to the pool or is closed with the worker counted out
 * ({@link #complete}, {@link #drop}), it is handed to a tunnel ({@link #handOver}), or its client left and the
 * worker stays counted in until it is done with the request ({@link #abandon}).
 *
 * <p>Confined to the client connection's event loop.
 */
final class Attempt {

    /** What the attempt tells its exchange. */
    interface Owner {

        /** The connection is there: the request may be written ({@link #send}). */
        void connected(Attempt attempt);

        /** No connection could be opened (refused, timed out); nothing of the request reached the worker. */
        void notConnected(Attempt attempt, Throwable cause);

        /** The response timeout or the body idle timeout passed. */
        void timedOut(Attempt attempt, boolean body);
    }

    private final ProxyContext proxy;
    private final Owner owner;
    private final Endpoint endpoint;
    /** The client connection's claim on the worker connections it returned ({@link UpstreamPool.Owner}). */
    private final UpstreamPool.Owner client;
    private final ResponseDeadlines.Entry deadline;
    private final ResponseDeadlines.Entry bodyDeadline;
    private Channel upstream;
    private UpstreamHandler connection;
    private boolean over;
    /** The client left; the worker stays counted in until it answers or closes ({@link #abandon}). */
    private boolean abandoned;

    Attempt(ProxyContext proxy, Owner owner, Endpoint endpoint, UpstreamPool.Owner client) {
        this.proxy = proxy;
        this.owner = owner;
        this.endpoint = endpoint;
        this.client = client;
        this.deadline = new ResponseDeadlines.Entry(() -> expired(false));
        this.bodyDeadline = new ResponseDeadlines.Entry(() -> expired(true));
    }

    Endpoint endpoint() {
        return endpoint;
    }

    /** The worker connection, once {@link Owner#connected}; null before and after. */
    Channel upstream() {
        return upstream;
    }

    /**
     * Takes a pooled connection to the worker, or opens one on {@code loop}. {@code once}: the request could not be
     * sent again if the connection failed, so a pooled connection must have settled ({@link UpstreamPool#acquire}).
     */
    void start(EventLoop loop, boolean once) {
        UpstreamHandler pooled = proxy.pool().acquire(endpoint, client, once);
        if (pooled != null) {
            attach(pooled);
            return;
        }
        proxy.connect(loop, endpoint.port()).addListener((ChannelFuture future) -> {
            if (loop.inEventLoop()) {
                connectDone(future);
            } else {
                // A channel that could not even be created (the master out of descriptors) fails its future on
                // Netty's global executor: the exchange is the loop's alone.
                loop.execute(() -> connectDone(future));
            }
        });
    }

    /** The connection to the worker opened, or could not be; on the connection's event loop. */
    private void connectDone(ChannelFuture future) {
        if (over) {
            if (future.isSuccess()) {
                future.channel().close();
            }
            return;
        }
        if (future.isSuccess()) {
            endpoint.connected();
            attach(future.channel().pipeline().get(UpstreamHandler.class));
        } else {
            // Refusals are bounded: each one moves the worker towards ejection. A socket the master could not
            // open (out of descriptors) was refused by no worker.
            if (!OutOfDescriptors.causedIt(future.cause())) {
                endpoint.connectRefused();
            }
            over = true;
            endpoint.release(false);
            owner.notConnected(this, future.cause());
        }
    }

    private void attach(UpstreamHandler handler) {
        handler.endpoint = endpoint;
        connection = handler;
        upstream = handler.channel();
        owner.connected(this);
    }

    /**
     * Writes the request head and what there is of its body; flushed unless the client is being read (then the
     * read's end flushes). {@code listener} hears of the head's write; {@code complete}: the whole request is
     * in hand, so the response timeout starts, though part of a spooled body may still wait for the connection to be
     * writable ({@link RequestBody#pump}): a worker that stops reading it times out like one that does not answer.
     */
    void send(UpstreamListener listener, RequestHead head, RequestBody body, boolean flush, boolean complete,
              io.netty.channel.ChannelFutureListener headWritten) {
        connection.attach(listener, head.isHead(), ResponseFraming.dechunks(head.http10()), head.upgrade());
        if (!head.bodyless()) {
            connection.carriedBody = true;
        }
        upstream.write(head.request()).addListener(headWritten);
        boolean written = body.writeTo(upstream);
        if (flush || !written) {
            upstream.flush();
        }
        if (complete) {
            armResponseTimeout();
        }
    }

    /** The whole request has been passed to the worker connection: the response timeout runs from now. */
    void armResponseTimeout() {
        proxy.deadlines().add(deadline, System.nanoTime() + proxy.responseTimeoutNanos());
    }

    /**
     * The worker connection stopped taking an unfinished request ({@code stalled}: its buffer is full), or takes it
     * again: the response timeout runs meanwhile, as nginx's {@code proxy_send_timeout} does between two writes, so
     * that a worker that reads none of a streamed body and never answers cannot hold the request for ever.
     */
    void sendStalled(boolean stalled) {
        if (stalled) {
            armResponseTimeout();
        } else {
            proxy.deadlines().remove(deadline);
        }
    }

    /** The head of the final response arrived: the response timeout is over. */
    void headArrived() {
        proxy.deadlines().remove(deadline);
    }

    /**
     * Arms the body idle timeout from now, or pauses it while the worker connection is not read (the client is
     * not reading): a slow client is not a stalled worker.
     */
    void watchBody() {
        long timeout = proxy.bodyIdleTimeoutNanos();
        if (timeout == 0 || over || upstream == null) {
            return;
        }
        if (upstream.config().isAutoRead()) {
            proxy.bodyDeadlines().add(bodyDeadline, System.nanoTime() + timeout);
        } else {
            proxy.bodyDeadlines().remove(bodyDeadline);
        }
    }

    void stopClocks() {
        proxy.deadlines().remove(deadline);
        proxy.bodyDeadlines().remove(bodyDeadline);
    }

    /**
     * The worker answered: the connection goes back to the pool when {@code reuse} (for at most
     * {@code keepAliveSeconds} if the worker said so), else it is closed; the worker is counted out, with a
     * request served. {@code clientStays}: the client connection goes on, and may send the connection's next request
     * (which then carries the ACK of this answer); when it does not, the answer's end is ACKed at once
     * ({@link UpstreamHandler#ackAnswerEnd}).
     */
    void complete(boolean reuse, int keepAliveSeconds, boolean clientStays) {
        end();
        connection.detach();
        // A worker that takes one request at a time may serve one connection at a time too, to its end (a
        // single-threaded HTTP/1.1 server: Python's http.server, a blocking accept loop): a connection kept idle to it
        // stalled the next request that came on another until upstream-idle-timeout, and its liveness probes with
        // it (found by an attacking helper). So with max-concurrency 1 none is kept, as nginx keeps none by default.
        if (reuse && connection.reusable() && endpoint.maxConcurrency() != 1) {
            if (!clientStays) {
                connection.ackAnswerEnd(System.nanoTime());
            }
            upstream.config().setAutoRead(true);
            proxy.pool().release(endpoint, connection, keepAliveSeconds, client);
        } else {
            upstream.close();
        }
        endpoint.release(true);
    }

    /** The attempt failed or the request is over without an answer: the connection is closed, the worker counted out. */
    void drop() {
        if (over) {
            return;
        }
        end();
        if (connection != null) {
            connection.detach();
            upstream.close();
        }
        endpoint.release(false);
    }

    /**
     * The worker switched protocols: the connection now belongs to {@code tunnel}, and the worker counts the
     * request as served (the tunnel is counted apart).
     */
    void handOver(Tunnel tunnel) {
        end();
        connection.handOver(tunnel);
        upstream.config().setAutoRead(false);
        endpoint.release(true);
    }

    /**
     * The client left before the head of the final response arrived. Without {@code fleet.worker.max-concurrency}
     * this is {@link #drop}: the connection closes at once, which tells the worker. With it, a worker that has the
     * whole request ({@code requestSent}) may still be working on it, and counting it out now would give it the next
     * one at once, breaking the limit (a single-threaded worker would queue it behind the abandoned one; an
     * asynchronous Node handler would run beside it). So the connection stays open, as nginx's
     * {@code proxy_ignore_client_abort on} keeps it, not even half-closed (Node's HTTP server ends a connection on
     * a FIN at once, whatever its handler still does), and the worker stays counted in until it sends anything but
     * an interim {@code 1xx}, closes, or {@code fleet.proxy.response-timeout} passes from now; then the connection is
     * closed. Bounded: each abandoned request holds one of the worker's slots, which no other request can take
     * meanwhile. A request whose body the worker has not all been given is dropped: it could wait for the rest.
     */
    void abandon(boolean requestSent) {
        if (over) {
            return;
        }
        if (endpoint.maxConcurrency() == 0 || connection == null || !requestSent) {
            drop();
            return;
        }
        end();
        abandoned = true;
        // Still in flight for the proxy's drain too: a master that stops waits for it as for a request with a client.
        proxy.exchangeStarted();
        connection.handOver(new Abandoned());
        // A client that read nothing had paused the worker's connection: its answer must be read now. And what
        // was written while the client was being read goes out.
        upstream.config().setAutoRead(true);
        upstream.flush();
        armResponseTimeout();
    }

    /** The worker has answered, closed or timed out after {@link #abandon}: the slot is free now. */
    private void abandonedEnds() {
        if (!abandoned) {
            return;
        }
        abandoned = false;
        proxy.exchangeEnded();
        stopClocks();
        connection.detach();
        upstream.close();
        endpoint.release(false);
    }

    private void expired(boolean body) {
        if (abandoned) {
            abandonedEnds();
        } else {
            owner.timedOut(this, body);
        }
    }

    private void end() {
        over = true;
        stopClocks();
    }

    /**
     * What the worker sends after {@link #abandon}: its first sign of being done with the request (anything but an
     * interim {@code 1xx}, which it may send before the work) frees the slot.
     */
    private final class Abandoned implements UpstreamListener {

        @Override
        public void onUpstreamMessage(Object message) {
            boolean interim = message instanceof ResponseHead head && head.informational();
            ReferenceCountUtil.release(message);
            if (!interim) {
                abandonedEnds();
            }
        }

        @Override
        public void upstreamReadComplete() {
        }

        @Override
        public void onUpstreamClosed(Throwable cause) {
            abandonedEnds();
        }

        @Override
        public void upstreamWritabilityChanged(boolean writable) {
        }
    }
}
