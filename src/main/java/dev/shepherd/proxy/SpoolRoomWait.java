package dev.shepherd.proxy;

import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * A body read before a worker is picked ({@link ProxyContext#readsBodiesFirst}) whose part found the request-body
 * spool at its bound ({@link RequestBody#spool}): the body that came slowest lately is refused to make room, if one
 * has been read long enough and is not this one ({@link BodySpool#makeRoom}), and this body waits, unread, until its
 * parts fit, for {@link ReclaimableConnections#GRACE_NANOS} at most; else 503.
 *
 * <p>Confined to the client connection's event loop, as its {@link Exchange}; it looks for room every
 * {@link #ROOM_LOOK_MILLIS} on that loop.
 */
final class SpoolRoomWait {

    /** How often a body waiting for room in the spool ({@link #start}) looks for it. */
    private static final long ROOM_LOOK_MILLIS = 10;

    /** What the wait asks of, and tells, its exchange; called on the event loop. */
    interface Owner {

        /** Whether the body is still being read first (false once the exchange is over). */
        boolean readingBodyFirst();

        /** The parts that waited are in the spool now: the body is read on, or the request, whole, goes to a worker. */
        void roomFound();

        /** The spool could not take a part: the proxy answers. */
        void spoolUnwritable(IOException cause);

        /** No room came, nor will within the wait: the proxy answers 503 with {@code reason}. */
        void noRoom(String reason);
    }

    private final ProxyContext proxy;
    private final ChannelHandlerContext ctx;
    private final RequestBody body;
    private final RequestClient sender;
    private final Owner owner;
    /** Whether the body waits for room now ({@link #start}); the spool counts it as waiting meanwhile. */
    private boolean waitingForRoom;
    /** The bytes the body asked room for when it began to wait ({@link BodySpool#waiting}). */
    private long roomAsked;
    /** Since when it waits, in {@link System#nanoTime} nanoseconds. */
    private long roomWaitSince;
    /** The next look for room; null: none. */
    private ScheduledFuture<?> roomLook;

    SpoolRoomWait(ProxyContext proxy, ChannelHandlerContext ctx, RequestBody body, RequestClient sender, Owner owner) {
        this.proxy = proxy;
        this.ctx = ctx;
        this.body = body;
        this.sender = sender;
        this.owner = owner;
    }

    /** The body's first waiting part found no room: it waits for some, unread, or is refused at once. On the loop. */
    void start() {
        if (!roomComing()) {
            refuseForNoRoom();
            return;
        }
        ctx.channel().config().setAutoRead(false);
        roomWaitSince = System.nanoTime();
        waitingForRoom = true;
        roomAsked = body.firstWaitingBytes();
        proxy.spool().waiting(sender.spoolClient(), true, roomAsked);
        roomLook = ctx.executor().schedule(this::lookForRoom, ROOM_LOOK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The body no longer waits for room in the spool ({@link #start}): it got it, or the exchange ended. */
    void stop() {
        if (waitingForRoom) {
            waitingForRoom = false;
            proxy.spool().waiting(sender.spoolClient(), false, roomAsked);
        }
    }

    /** The next look is not taken: the exchange is over. */
    void cancelLook() {
        if (roomLook != null) {
            roomLook.cancel(false);
            roomLook = null;
        }
    }

    /** Spools the parts that wait for room, as far as it allows now; then goes on reading, routes, or waits more. */
    private void lookForRoom() {
        roomLook = null;
        if (!owner.readingBodyFirst()) {
            return;
        }
        boolean none;
        try {
            none = body.spoolWaiting(proxy.spool());
        } catch (IOException ex) {
            owner.spoolUnwritable(ex);
            return;
        }
        if (none) {
            stop();
            owner.roomFound();
            return;
        }
        if (System.nanoTime() - roomWaitSince >= ReclaimableConnections.GRACE_NANOS) {
            refuseForNoRoom();
            return;
        }
        if (!roomComing()) {
            // The room made came and was taken, and more is needed: none slower to refuse, now or soon.
            refuseForNoRoom();
            return;
        }
        roomLook = ctx.executor().schedule(this::lookForRoom, ROOM_LOOK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Room is coming, or made now, or a body being read may be refused for it within the wait. */
    private boolean roomComing() {
        BodySpool spool = proxy.spool();
        return spool.makeRoom(sender.spoolClient(), body.holder(), body.firstWaitingBytes())
                || !spool.pastShare(sender.spoolClient(), body.firstWaitingBytes())
                && spool.refusableSoon(body.holder());
    }

    private void refuseForNoRoom() {
        boolean past = proxy.spool().pastShare(sender.spoolClient(), body.firstWaitingBytes());
        proxy.spool().refused(past);
        owner.noRoom("the request bodies the proxy keeps on disk are at their bound"
                + (past ? ", and this client's would pass its fair share of it" : ""));
    }
}
