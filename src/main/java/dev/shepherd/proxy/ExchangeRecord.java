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

    /**
     * Logs the request, when the access log is on; {@code worker}: the one that answered, or null; {@code attempts}:
     * the attempts made.
     */
    void logAccess(int status, Endpoint worker, int attempts) {
        AccessLog accessLog = proxy.accessLog();
        if (accessLog != null) {
            // What went into the response's file counts once it left it: a cut or a client gone sent less.
            long sent = relay.bodyBytes() - spooling.pending();
            accessLog.request(sender.accessLogClient(), head, status, sent, headStartedNanos,
                    worker == null ? -1 : worker.workerId(), attempts);
        }
    }

    /** The access-log line of the tunnel {@code worker} opened, written when it ends; null: the log is off. */
    AccessLog.Opened tunnelOpened(Endpoint worker, int attempts) {
        AccessLog accessLog = proxy.accessLog();
        return accessLog == null ? null
                : accessLog.opened(sender.accessLogClient(), head, headStartedNanos, worker.workerId(), attempts);
    }

    /** A worker's response with {@code status} reached the client whole. */
    void completed(int status, int attempts) {
        proxy.metrics().completed(head, status, startNanos, attempts);
    }

    /** The proxy answered {@code status} itself, or closed the connection with it. */
    void failed(HttpResponseStatus status) {
        proxy.metrics().failed(head, status, startNanos);
    }

    /** The worker failed after its response with {@code status} had started: the response was cut. */
    void cut(int status) {
        proxy.metrics().cut(head, status, startNanos);
    }

    /** The client went away before the response's end; {@code status}: the response's, or the code it is logged as. */
    void clientClosed(int status) {
        proxy.metrics().clientClosed(head, status, startNanos);
    }
}
