package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetProperties;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import java.util.Locale;

/**
 * What follows a failed attempt: another attempt, or the proxy's own answer with the reason. Pure: the retry
 * budget, the request body and the routing are the caller's. Thread-safe (immutable).
 *
 * <p>Rules: nothing is retried once part of the response reached the client (the response is cut instead, RFC
 * 9112 §8). An attempt that never reached the worker (a refused or failed connection, an unwritten head) may
 * always go elsewhere; one that did, only when the request is idempotent (RFC 9110 §9.2.2) or carries an
 * {@code Idempotency-Key}; a timeout never, since the worker may still be working on it. Every retry also needs
 * a replayable body (held in full) and an attempt left ({@code fleet.proxy.retry.max-attempts}).
 */
final class RetryPolicy {

    /** How far an attempt got before it failed: decides whether it may be retried. */
    enum Failure { NOT_SENT, SENT, TIMEOUT, BODY_TIMEOUT }

    /** The proxy's answer to the client when no attempt is left: a status and one line that says why. */
    record Answer(HttpResponseStatus status, String reason) {
    }

    private final FleetProperties.Proxy properties;

    RetryPolicy(FleetProperties.Proxy properties) {
        this.properties = properties;
    }

    /**
     * Whether another attempt may go (the caller still asks the retry budget). {@code attempts}: attempts that
     * reached a worker connection so far.
     */
    boolean mayRetry(Failure failure, boolean retriable, boolean replayable, int attempts) {
        boolean allowed = failure == Failure.NOT_SENT || failure == Failure.SENT && retriable;
        return allowed && replayable && attempts < properties.retry().maxAttempts();
    }

    /**
     * The answer when no retry follows; {@code worker} names the worker that failed, {@code method} the request's;
     * {@code budgetSpent}: a retry was allowed but the retry budget was spent.
     */
    Answer answer(Failure failure, Throwable cause, String worker, String method, boolean retriable, int attempts,
                  boolean budgetSpent) {
        if (failure == Failure.TIMEOUT) {
            return new Answer(HttpResponseStatus.GATEWAY_TIMEOUT, worker + " did not answer within "
                    + properties.responseTimeout().toMillis() + " ms");
        }
        if (failure == Failure.BODY_TIMEOUT) {
            return new Answer(HttpResponseStatus.GATEWAY_TIMEOUT, worker + " sent the head of its response but no "
                    + "body within " + properties.bodyIdleTimeout().toMillis() + " ms");
        }
        if (cause instanceof ConnectTimeoutException) {
            return new Answer(HttpResponseStatus.GATEWAY_TIMEOUT, worker + " did not accept a connection within "
                    + properties.connectTimeout().toMillis() + " ms");
        }
        if (failure == Failure.SENT && !retriable) {
            return new Answer(HttpResponseStatus.BAD_GATEWAY, worker + " failed while handling the request ("
                    + describe(cause) + "); not retried because " + method + " is not idempotent"
                    + " (send an Idempotency-Key header to allow a retry)");
        }
        int tried = Math.max(1, attempts);
        return new Answer(HttpResponseStatus.BAD_GATEWAY, worker + " failed (" + describe(cause) + ") after " + tried
                + (tried == 1 ? " attempt" : " attempts")
                + (budgetSpent ? "; not retried: the retry budget is spent" : ""));
    }

    /** Whether {@code cause} is the worker's malformed response, as {@link ResponseHeadParser} words it. */
    static boolean malformed(Throwable cause) {
        return cause instanceof DecoderException && cause.getMessage() != null
                && cause.getMessage().startsWith("the worker");
    }

    /**
     * What went wrong, in the proxy's words: the worker's malformed response as the parser worded it (without the bytes
     * it quoted), else the kind of failure. Never the exception's own text, which names the transport and its system call ("io_uring read(..)
     * failed with error(-104)"), nor its class.
     */
    static String describe(Throwable cause) {
        if (cause == null || cause instanceof ClosedChannelException) {
            return "connection closed before a response";
        }
        if (malformed(cause)) {
            // Without the worker's own bytes the parser quoted (control characters, another header's content):
            // they are for the master's log (found by an attacking helper; nginx's 502 page quotes nothing either).
            String message = cause.getMessage();
            int quote = message.indexOf(" '");
            return quote < 0 ? message : message.substring(0, quote);
        }
        if (cause instanceof ConnectException) {
            return "connection refused";
        }
        String message = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        if (message.contains("reset by peer")) {
            return "connection reset by the worker";
        }
        if (message.contains("broken pipe")) {
            return "the worker closed the connection while the request was sent";
        }
        return "connection failed";
    }
}
