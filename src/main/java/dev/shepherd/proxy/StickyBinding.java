package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;

/**
 * One request's sticky session: the slot its cookies bind it to, by the proxy's cookie ({@link StickySessions#slot})
 * or else by the application's ({@link AppCookieSessions#slot}), read on the first attempt ({@link #pick}); and, from
 * the final response's head, the {@code Set-Cookie} line that binds the client to the slot that answered
 * ({@link #line}). Confined to the client connection's event loop, as its {@link Exchange}.
 */
final class StickyBinding {

    private final ProxyContext proxy;
    private final RequestHead head;
    /** The slot the request is bound to, by either cookie; {@link StickySessions#NO_COOKIE} until {@link #pick}. */
    private int stickySlot = StickySessions.NO_COOKIE;
    /** The request's value of {@code fleet.proxy.sticky.app-cookie}, when it has one, and the slot it is bound to. */
    private String appCookie;
    private int appSlot = StickySessions.NO_COOKIE;

    StickyBinding(ProxyContext proxy, RequestHead head) {
        this.proxy = proxy;
        this.head = head;
    }

    /**
     * The first attempt's worker by the sticky cookies, counted in; null when stickiness is off or they name none.
     * The proxy's cookie decides when it names a slot, else the application's.
     */
    Endpoint pick() {
        StickySessions sticky = proxy.sticky();
        AppCookieSessions appCookies = proxy.appCookies();
        if (sticky != null) {
            stickySlot = sticky.slot(head.request().headers());
        }
        if (appCookies != null) {
            appCookie = appCookies.value(head.request().headers());
            appSlot = appCookies.slot(appCookie);
            if (stickySlot < 0 && (appSlot >= 0 || sticky == null)) {
                stickySlot = appSlot;
            }
        }
        return proxy.router().pickSlot(stickySlot, head.upgrade());
    }

    /**
     * After {@link #pick} found no worker: the sticky slot whose worker the request waits for, when its worker holds
     * the session's state and is only busy ({@link Router#slotWaits}); else -1: any worker.
     */
    int waitSlot() {
        return stickySlot >= 0 && proxy.router().slotWaits(stickySlot, head.upgrade()) ? stickySlot : -1;
    }

    /**
     * The {@code Set-Cookie} line that binds the client to the slot {@code served} (the index of the worker that
     * answered), when it must; else null. Learns the application's cookie from the response on the way.
     * {@code retries}: the request's, null when no attempt of it failed.
     */
    byte[] line(ResponseHead response, int served, Retries retries) {
        StickySessions sticky = proxy.sticky();
        AppCookieSessions appCookies = proxy.appCookies();
        if (sticky == null && appCookies == null) {
            return null;
        }
        proxy.metrics().sticky(stickySlot, served);
        if (appCookies != null) {
            appCookies.answered(appCookie, appSlot, boundAfter(appSlot, served, retries), served, response.lines());
        }
        return sticky == null ? null : sticky.rebind(stickySlot, boundAfter(stickySlot, served, retries),
                response.lines(), head.request().headers());
    }

    /**
     * The slot a session bound to {@code requested} belongs to once {@code served} answered: still
     * {@code requested} when its worker still takes the session's requests and holds its state (another served
     * this one as a retry, or a WebSocket handshake while it drains), else {@code served}.
     */
    private int boundAfter(int requested, int served, Retries retries) {
        if (requested < 0 || requested == served) {
            return served;
        }
        if (retries != null) {
            // A killed worker resets its connections a moment before its exit is reaped, so the failure that sent
            // this request elsewhere may have found it still alive. Asked again now, a worker that died leaves the
            // rotation, and its session moves with this answer instead of coming back to the slot's replacement.
            retries.recheckFailedWorkers();
        }
        return proxy.router().slotKeeps(requested) ? requested : served;
    }
}
