package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * A request body read whole before a worker is picked ({@link ProxyContext#readsBodiesFirst}), so that a worker's
 * slot is not taken while a slow client uploads: held in memory up to the retry buffer limit while the proxy-wide
 * bound ({@link ProxyContext#WAITING_BODIES_LIMIT}) allows, else spooled to a file ({@link BodySpool}), waiting for
 * room there when the spool is at its bound ({@link SpoolRoomWait}); the last part sends the request to a worker,
 * with its length. It is what the spool runs on the loop when it chooses the body to make room ({@link #run}).
 *
 * <p>Confined to the client connection's event loop, as its {@link Exchange}.
 */
final class BodyReadFirst implements SpoolRoomWait.Owner, Runnable {

    /** The interim answer to {@code Expect: 100-continue} (RFC 9110 §10.1.1) when the proxy reads the body first. */
    private static final byte[] CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** What reading the body first asks of, and tells, its exchange; on the event loop. */
    interface Owner {

        /** Whether the exchange is over. */
        boolean finished();

        /** Whether the whole request, its body's last part included, has been read. */
        boolean requestComplete();

        /** {@code bytes} more of the body are held in memory with no worker connection, counted proxy-wide. */
        void heldWaiting(int bytes);

        /** The body is whole: the request goes to a worker, or waits for one. */
        void route();

        /** The proxy answers {@code status} itself, with {@code reason}. */
        void fail(HttpResponseStatus status, String reason);

        /** The spool chose the body to make room ({@link BodySpool#makeRoom}): it is refused, or gives up its copy. */
        void refusedForRoom();
    }

    private final ProxyContext proxy;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final RequestHead head;
    private final RequestBody body;
    private final RequestClient sender;
    private final Owner owner;
    private final SpoolRoomWait roomWait;
    /** The body is being read before a worker is picked. */
    private boolean reading;

    BodyReadFirst(ProxyContext proxy, ClientHandler client, ChannelHandlerContext ctx, RequestHead head,
                  RequestBody body, RequestClient sender, Owner owner) {
        this.proxy = proxy;
        this.client = client;
        this.ctx = ctx;
        this.head = head;
        this.body = body;
        this.sender = sender;
        this.owner = owner;
        this.roomWait = new SpoolRoomWait(proxy, ctx, body, sender, this);
    }

    /**
     * The body is read before a worker is picked. A client that waits for 100 Continue gets it from the proxy, as
     * nginx sends it when it reads a body: routed at its head instead, it held the worker's slot for as long as it
     * took to send the body (two such clients, a byte every 10 s, kept a fleet of two answering 503 for minutes;
     * found by an attacking helper).
     */
    void begin() {
        if (head.request().headers().contains(HttpHeaderNames.EXPECT)) {
            head.request().headers().remove(HttpHeaderNames.EXPECT);
            client.raw().writeAndFlush(Unpooled.wrappedBuffer(CONTINUE));
        }
        reading = true;
    }

    /** Whether the body is being read before a worker is picked (it may be done once the exchange is over). */
    boolean reading() {
        return reading;
    }

    /** The body is not read first any more: it was refused, or the exchange ended. */
    void stopReading() {
        reading = false;
    }

    /** The body no longer waits for room in the spool: the exchange ended. */
    void stopWaitingForRoom() {
        roomWait.stop();
    }

    /** The next look for room in the spool is not taken: the exchange is over. */
    void cancelRoomLook() {
        roomWait.cancelLook();
    }

    /**
     * A part of a body read before a worker is picked: held in memory up to the retry buffer limit while the
     * proxy-wide bound ({@link ProxyContext#WAITING_BODIES_LIMIT}) allows, else spooled to a file, it and the parts
     * after it; the last part routes the request.
     */
    void part(HttpContent content, int bytes, boolean last) {
        boolean inMemory = !body.spooled() && body.waitingParts() == 0 && body.bytes() + bytes <= proxy.bufferLimit();
        if (inMemory && !proxy.holdWaitingBody(bytes)) {
            proxy.holdWaitingBody(-bytes);
            inMemory = false;
        }
        if (inMemory) {
            body.add(content, null);
            // Its bytes stay counted while it waits for a worker, until they go to one (connected) or it ends.
            owner.heldWaiting(bytes);
        } else {
            if (!body.spooled() && body.waitingParts() == 0) {
                proxy.metrics().bodySpooled();
            }
            boolean waitedAlready = body.waitingParts() > 0;
            boolean kept;
            try {
                kept = body.spool(content, proxy.spool(), sender.spoolClient());
            } catch (IOException ex) {
                spoolUnwritable(ex);
                return;
            }
            if (!kept) {
                if (!waitedAlready) {
                    roomWait.start();
                }
                return;
            }
            body.list(proxy.spool(), ctx.executor(), this);
        }
        if (last) {
            bodyRead();
        }
    }

    /**
     * The spool chose the body to make room ({@link BodySpool#makeRoom}): what the spool runs on the loop, through
     * its holder, while the body has bytes in it.
     */
    @Override
    public void run() {
        owner.refusedForRoom();
    }

    @Override
    public void spoolUnwritable(IOException ex) {
        proxy.spool().failed(true, ex);
        owner.fail(HttpResponseStatus.SERVICE_UNAVAILABLE, "the proxy could not store the request body");
    }

    @Override
    public boolean readingBodyFirst() {
        return !owner.finished() && reading;
    }

    @Override
    public void roomFound() {
        body.list(proxy.spool(), ctx.executor(), this);
        if (owner.requestComplete()) {
            bodyRead();
        } else {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void noRoom(String reason) {
        owner.fail(HttpResponseStatus.SERVICE_UNAVAILABLE, reason);
    }

    /** The whole body was read before a worker is picked: the request goes to one. */
    private void bodyRead() {
        reading = false;
        if (HttpUtil.isTransferEncodingChunked(head.request())) {
            // Whole now: sent with its length, as nginx sends a body it buffered. Some servers take no chunked
            // body (wsgiref, uWSGI without --chunked-input, PHP's SAPIs; found by an attacking helper).
            HttpUtil.setTransferEncodingChunked(head.request(), false);
            HttpUtil.setContentLength(head.request(), body.bytes());
        }
        owner.route();
    }
}
