package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * What one exchange leaves behind: its access-log line ({@link AccessLog}, when it is on) and its count and time in
 * the request metrics ({@link ProxyMetrics}), by how it ended. Times run from the exchange's start (the metrics) and
 * from the first bytes of the request's head (the access log), both in {@link System#nanoTime} nanoseconds.
 * Confined to the client connection's event loop, as its {@link Exchange}.
 */
final class ExchangeRecord {

    /** nginx's code for a request whose client closed the connection before a response began; never sent. */
    static final int CLIENT_CLOSED_REQUEST = 499;
    /**
     * nginx's code for a connection it closed without a response ({@code return 444}); never sent: what the access log
     * says of a request cut at the end of the shutdown's drain before its response began.
     */
    static final int NO_RESPONSE = 444;

    private final ProxyContext proxy;
    private final RequestHead head;
    private final RequestClient sender;
    private final ResponseRelay relay;
    private final ResponseSpooling spooling;
    private final long startNanos;
    /** When the head's first bytes came ({@link ClientTimeouts#headStartedNanos()}): the access log's time runs from it. */
    private final long headStartedNanos;

    /** {@code headStartedNanos}: negative when not known, and then {@code startNanos}. */
    ExchangeRecord(ProxyContext proxy, RequestHead head, RequestClient sender, ResponseRelay relay,
                   ResponseSpooling spooling, long startNanos, long headStartedNanos) {
        this.proxy = proxy;
        this.head = head;
        this.sender = sender;
        this.relay = relay;
        this.spooling = spooling;
        this.startNanos = startNanos;
        this.headStartedNanos = headStartedNanos < 0 ? startNanos : headStartedNanos;
    }

    /** The worker's response reached the client whole: logged with {@code worker}, then counted by its status. */
    void completed(Endpoint worker, int attempts) {
        logAccess(relay.status(), worker, attempts);
        proxy.metrics().completed(head, relay.status(), startNanos, attempts);
    }

    /**
     * {@code worker} switched protocols: counted as a {@code 101} answered now; returns the tunnel's access-log line,
     * written when the tunnel ends, or null when the log is off.
     */
    AccessLog.Opened switched(Endpoint worker, int attempts) {
        proxy.metrics().completed(head, 101, startNanos, attempts);
        AccessLog accessLog = proxy.accessLog();
        return accessLog == null ? null
                : accessLog.opened(sender.accessLogClient(), head, headStartedNanos, worker.workerId(), attempts);
    }

    /** The proxy answered {@code status} itself: counted, then logged with no worker. */
    void failed(HttpResponseStatus status, int attempts) {
        proxy.metrics().failed(head, status, startNanos);
        logAccess(status.code(), null, attempts);
    }

    /**
     * The response was cut after it had started, with the status it began with: by {@code failed}, the worker that
     * failed mid-way (a cut in the metrics), or, when null, by the proxy's own limit on the request body (not the
     * worker's doing: the proxy's failure). Logged first.
     */
    void cut(Endpoint failed, int attempts) {
        logAccess(relay.status(), failed, attempts);
        if (failed != null) {
            proxy.metrics().cut(head, relay.status(), startNanos);
        } else {
            proxy.metrics().failed(head, HttpResponseStatus.valueOf(relay.status()), startNanos);
        }
    }

    /**
     * The exchange stopped before its response's end: the client went away ({@code refusal} 0), or the proxy refused
     * the rest of the request with {@code refusal} (a 408, a 400) and closes the connection. Counted with the
     * response's status once it began, else as nginx's 499 (the client gave up), or 444 when {@code cut}: the proxy
     * closed the connection itself, at the end of the shutdown's drain (then a failure, not the client's doing).
     * Logged with {@code refusal} when the response had not begun, else with the same status; {@code worker}: the
     * one that had the request, or null.
     */
    void stopped(int refusal, boolean cut, Endpoint worker, int attempts) {
        int status = relay.started() ? relay.status() : cut ? NO_RESPONSE : CLIENT_CLOSED_REQUEST;
        if (cut) {
            proxy.metrics().failed(head, HttpResponseStatus.valueOf(status), startNanos);
        } else {
            proxy.metrics().clientClosed(head, status, startNanos);
        }
        logAccess(refusal != 0 && !relay.started() ? refusal : status, worker, attempts);
    }

    /**
     * Logs the request, when the access log is on; {@code worker}: the one that answered, or null; {@code attempts}:
     * the attempts made.
     */
    private void logAccess(int status, Endpoint worker, int attempts) {
        AccessLog accessLog = proxy.accessLog();
        if (accessLog != null) {
            // What went into the response's file counts once it left it: a cut or a client gone sent less.
            long sent = relay.bodyBytes() - spooling.pending();
            accessLog.request(sender.accessLogClient(), head, status, sent, headStartedNanos,
                    worker == null ? -1 : worker.workerId(), attempts);
        }
    }
}
