package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * One exchange's response on its way through a file, for a client that reads slower than the worker sends
 * ({@link SpooledResponse}): the look, a moment after the client fell behind, that starts it ({@link #lookToSpool}),
 * the parts the file takes ({@link ResponseRelay#divert}), the client given them at its pace ({@link #drain}), and
 * the exchange's end put off until the client has what the file holds, whether the response ended or was cut.
 *
 * <p>Confined to the client connection's event loop, as its {@link Exchange}.
 */
final class ResponseSpooling {

    /**
     * How long a client may take nothing of a full write buffer before the rest of its response goes into a file: a
     * client that keeps up (on loopback, even a fast one fills its buffer during a large download) drains it within
     * that, and gets its response as before, with no file opened (a re-attacking helper's 100 KB events made 50 files).
     */
    static final long SPOOL_AFTER_MILLIS = 100;

    /** What the spooling asks of, and tells, its exchange; called on the event loop. */
    interface Owner {

        /** Whether the exchange is over. */
        boolean finished();

        /** The current attempt's worker connection, if it is connected. */
        Channel upstream();

        /** The worker is read again (when there is one), and its body idle clock restarted. */
        void readWorker();

        /** The response's file could not be read back. */
        void spoolUnreadable(IOException cause);

        /** The client has what the file held of a response that {@code worker} answered whole: the exchange ends. */
        void answeredAfterSpool(Endpoint worker, boolean keepClient);

        /** The client has what the file held of a response that {@code worker} failed: the cut follows. */
        void cutAfterSpool(Endpoint worker);
    }

    private final ProxyContext proxy;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final ResponseRelay relay;
    private final Owner owner;
    /**
     * The part of the response kept for a client that reads slower than the worker sends ({@link SpooledResponse});
     * null while the client keeps up, or when responses are not buffered.
     */
    private SpooledResponse spooled;
    /** The spool's bound was reached: the worker is not read until the file is drained. */
    private boolean spoolFull;
    /** Part of this response went to a file, once at least (a client that caught up and fell behind again counts once). */
    private boolean spooledOnce;
    /** The look, {@link #SPOOL_AFTER_MILLIS} after the client fell behind, that spools if it still is; null: none. */
    private ScheduledFuture<?> spoolLook;
    /**
     * The worker that answered, once the response ended while part of it waits in the file: its connection is given
     * back already, and the exchange ends when the client has the rest ({@link #drain}); null before.
     */
    private Endpoint answeredBy;
    private boolean keepClientAfterSpool;
    /**
     * The worker whose response was cut while part of it waited in the file: the client gets that part first, and
     * the cut when it has it; null while none.
     */
    private Endpoint cutBy;

    ResponseSpooling(ProxyContext proxy, ClientHandler client, ChannelHandlerContext ctx, ResponseRelay relay,
                     Owner owner) {
        this.proxy = proxy;
        this.client = client;
        this.ctx = ctx;
        this.relay = relay;
        this.owner = owner;
    }

    /** Whether the response's parts go to the file now (the client fell behind and has not caught up). */
    boolean active() {
        return spooled != null;
    }

    /** Whether the spool's bound stopped the worker: it is not read until the file is drained. */
    boolean full() {
        return spoolFull;
    }

    /** Whether the file holds part of the response that the client has not had yet. */
    boolean holds() {
        return spooled != null && spooled.holds();
    }

    /** The bytes that went into the file and have not left it for the client yet; 0 with no file. */
    long pending() {
        return spooled == null ? 0 : spooled.pending();
    }

    /** The worker whose response, ended or cut, waits in the file for the client; null: none. */
    Endpoint waitingWorker() {
        return answeredBy != null ? answeredBy : cutBy;
    }

    /**
     * The client does not take what it was sent: the response goes into a file if it is still behind
     * {@link #SPOOL_AFTER_MILLIS} from now. Only for a response that has started: before that, a retry may still
     * take the request elsewhere.
     */
    void lookToSpool() {
        if (spoolLook == null && proxy.responseSpool() != null && relay.started()) {
            spoolLook = ctx.executor().schedule(this::spoolIfBehind, SPOOL_AFTER_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private void spoolIfBehind() {
        spoolLook = null;
        if (owner.finished() || owner.upstream() == null || spooled != null || ctx.channel().isWritable()
                || !spool()) {
            return;
        }
        owner.readWorker();
    }

    /** The client took what it was sent: no file for now. */
    void cancelSpoolLook() {
        if (spoolLook != null) {
            spoolLook.cancel(false);
            spoolLook = null;
        }
    }

    /**
     * The client reads slower than the worker sends: the response goes on into a file, from which the client gets it
     * at its pace ({@link SpooledResponse}), so that the worker is not held. Returns whether it does; false when no
     * file could be had (the worker then waits for the client). Only for a response that has started
     * ({@link #lookToSpool}): before that, a retry may still take the request elsewhere.
     */
    private boolean spool() {
        BodySpool spool = proxy.responseSpool();
        try {
            spooled = SpooledResponse.open(spool);
        } catch (IOException ex) {
            spool.failed(true, ex);
            return false;
        }
        relay.divert(this::spoolPart);
        return true;
    }

    private void spoolPart(ByteBuf part) {
        if (!spooledOnce) {
            spooledOnce = true;
            proxy.metrics().responseSpooled();
        }
        if (!spooled.append(part)) {
            spoolFull = true;
        }
    }

    /** The response ended at {@code worker} while the file holds part of it: the exchange ends once it is drained. */
    void endWhenDrained(Endpoint worker, boolean keepClient) {
        answeredBy = worker;
        keepClientAfterSpool = keepClient;
        drain();
    }

    /**
     * {@code worker} failed while the file holds part of its response: what it sent before goes to the client first,
     * as nginx passes on its buffers before it closes, and the cut follows.
     */
    void cutWhenDrained(Endpoint worker) {
        cutBy = worker;
        spoolFull = false;
        drain();
    }

    /**
     * Gives the client what the file holds while its connection is writable. Once the file is empty: the exchange
     * ends when the response has ended at the worker; else the client has caught up, and the response's parts go to
     * it directly again (the worker read again, if the spool's bound stopped it).
     */
    void drain() {
        SpooledResponse draining = spooled;
        boolean empty;
        try {
            empty = draining.drain(client.raw());
        } catch (IOException ex) {
            owner.spoolUnreadable(ex);
            return;
        }
        if (!empty || spooled != draining || owner.finished()) {
            // More to give, or a writability change during the drain's flush drained it to the end already.
            return;
        }
        if (cutBy != null) {
            close();
            owner.cutAfterSpool(cutBy);
            return;
        }
        if (answeredBy != null) {
            close();
            owner.answeredAfterSpool(answeredBy, keepClientAfterSpool);
            return;
        }
        spoolFull = false;
        if (ctx.channel().isWritable()) {
            // Caught up: the parts go to the client directly again. (Still behind: the empty file takes them.)
            close();
        }
        owner.readWorker();
    }

    /** No more of the response goes to a file: the look is cancelled, and the file, if any, closed. */
    void close() {
        cancelSpoolLook();
        if (spooled != null) {
            relay.divert(null);
            spooled.close();
            spooled = null;
        }
        spoolFull = false;
    }
}
