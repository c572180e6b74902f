package dev.shepherd.proxy;

import dev.shepherd.TerminalText;
import dev.shepherd.fleet.Endpoint;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the proxy says when it answers a request itself ({@link ErrorResponses} frames it): the reasons of its own
 * refusals (a body too large, no room to hold it) and of a worker's failure ({@link RetryPolicy#answer}); and what it
 * tells the operator on the way, a worker's malformed response above all. Stateless but for the malformed
 * responses' rate of warning; any thread.
 */
final class FailureAnswers {

    /** The exchange's logger: the lines below have always been logged under it, and operators filter by it. */
    private static final Logger log = LoggerFactory.getLogger(Exchange.class);

    /** Malformed responses answered with 502: at most a line per interval, a worker can send them at any rate. */
    private static final OccasionalWarning MALFORMED = new OccasionalWarning(System::nanoTime);

    /** 413 by its name in RFC 9110 §15.5.14 (Netty still spells it "Request Entity Too Large", RFC 7231's). */
    static final HttpResponseStatus CONTENT_TOO_LARGE = new HttpResponseStatus(413, "Content Too Large");

    private FailureAnswers() {
    }

    /** The 413's reason: the body is larger than {@code maxBodySize} bytes ({@code fleet.proxy.client-max-body-size}). */
    static String tooLarge(long maxBodySize) {
        return "the request body is larger than fleet.proxy.client-max-body-size (" + readable(maxBodySize) + ")";
    }

    /** The 503's reason when waiting for a worker would hold the body in memory past the proxy's bound for them all. */
    static String bodiesWaiting() {
        return "no worker can take the request now, and the proxy already holds "
                + (ProxyContext.WAITING_BODIES_LIMIT >> 20) + " MB of request bodies waiting for one";
    }

    /** The reason a body being read is refused to make room in the request-body spool ({@link BodySpool#makeRoom}). */
    static String slowestBodyRefused() {
        return "the request bodies the proxy keeps on disk are at " + BodySpool.MAX_SIZE
                + ", and this request's body came the slowest of those being read: another request got the room";
    }

    /** The reason a whole body queued for its first worker is refused to make room in the request-body spool. */
    static String mostHeldRefused() {
        return "the request bodies the proxy keeps on disk are at " + BodySpool.MAX_SIZE
                + ", and this client's bodies held the most of them: another client's request got the room";
    }

    /**
     * The answer when no attempt follows a worker's {@code failure} ({@code failed}: null when none was reached);
     * {@code budgetSpent}: one could have, but the retry budget was spent. Warns of a malformed response, and logs
     * the worker's name with the reason at debug: the client is told what happened, not which worker.
     */
    static RetryPolicy.Answer workerFailed(ProxyContext proxy, RequestHead head, Failure failure, Throwable cause,
                                           Endpoint failed, int attempts, boolean budgetSpent) {
        String worker = workerName(failed);
        warnIfMalformed(cause, worker);
        // The client is told what happened, not which worker: ids only count up, and would tell anyone how often
        // workers were replaced and whether a request of theirs took one down. The operator's log names it.
        RetryPolicy.Answer answer = proxy.retryPolicy().answer(failure, cause, "the worker",
                head.request().method().name(), head.retriable(), attempts, budgetSpent);
        log.debug("{}: {}", worker, answer.reason());
        return answer;
    }

    /** Logs a response cut after it started ({@code failed}: null when the proxy's own limit cut it). */
    static void cutting(Endpoint failed, Failure failure, Throwable cause) {
        warnIfMalformed(cause, workerName(failed));
        log.debug("{} failed ({}) after the response started; cutting the response to the client", failed, failure);
    }

    /** Logs the proxy's own answer at debug, when it is a 5xx. */
    static void answering(RequestHead head, HttpResponseStatus status, String reason) {
        if (status.code() >= 500) {
            log.debug("{} {} -> {}: {}", head.request().method(), head.request().uri(), status.code(), reason);
        }
    }

    private static String workerName(Endpoint failed) {
        return failed == null ? "the worker" : "worker " + failed.workerId();
    }

    /**
     * A worker's malformed response is its code's bug, for the operator to see whether or not a byte of it reached
     * the client (a chunk without its CRLF, an endless trailer section): warned of at most every ten seconds, with
     * the count since the last line.
     */
    private static void warnIfMalformed(Throwable cause, String worker) {
        if (RetryPolicy.malformed(cause)) {
            long times = MALFORMED.occurred();
            if (times > 0) {
                log.warn("{} sent a malformed response ({} time(s) since the last such line): {}", worker, times,
                        TerminalText.safe(cause.getMessage()));
            }
        }
    }

    /** {@code bytes} as "10 MB", "64 KB" or "1000 bytes": whole megabytes or kilobytes when it is some. */
    static String readable(long bytes) {
        if (bytes >= 1 << 20 && bytes % (1 << 20) == 0) {
            return (bytes >> 20) + " MB";
        }
        return bytes >= 1024 && bytes % 1024 == 0 ? (bytes >> 10) + " KB" : bytes + " bytes";
    }
}
