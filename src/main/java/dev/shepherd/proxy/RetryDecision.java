package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.util.concurrent.EventExecutor;

/**
 * What follows an attempt that failed before any of its response reached the client: another attempt, or the
 * proxy's own answer. A malformed response is answered, never retried; else {@link RetryPolicy} says whether the
 * request may go again, and the {@link RetryBudget} whether it does now; with the budget spent, a request whose
 * worker may have died waits to learn whether it did ({@link Retries#awaitExit}): those are retried anyway.
 *
 * <p>Holds the request's {@link Retries}, created at its first retry. Confined to the client connection's event
 * loop, as its {@link Exchange}.
 */
final class RetryDecision {

    /** What the decision tells its exchange; on the event loop. */
    interface Owner {

        /** Another attempt: on a worker picked now, or the request waits for one. */
        void route();

        /** No attempt follows; {@code budgetSpent}: one could have, but the retry budget was spent. */
        void answerFailure(Failure failure, Throwable cause, Endpoint failed, boolean budgetSpent);
    }

    private final ProxyContext proxy;
    private final RequestHead head;
    private final EventExecutor loop;
    private final Owner owner;
    /** Where retries go; null until an attempt fails and is retried (most requests never need it). */
    private Retries retries;

    RetryDecision(ProxyContext proxy, RequestHead head, EventExecutor loop, Owner owner) {
        this.proxy = proxy;
        this.head = head;
        this.loop = loop;
        this.owner = owner;
    }

    /** The request's retries; null while it had none. */
    Retries retries() {
        return retries;
    }

    /**
     * An attempt failed with {@code failure} (and {@code cause}, if known) on {@code failed} (null: no worker was
     * reached) before its response started: retries, now or once the worker's exit is known, or answers.
     * {@code replayable}: the request's body can be sent again; {@code attempts}: those made so far.
     */
    void decide(Failure failure, Throwable cause, Endpoint failed, boolean replayable, int attempts) {
        // A malformed response is the worker's code speaking, not its death: another worker would most likely
        // answer the same, each attempt one more run of the request (found by an attacking helper: 3 worker requests
        // and 250 ms per client request). nginx's proxy_next_upstream leaves invalid_header out by default.
        if (RetryPolicy.malformed(cause)
                || !proxy.retryPolicy().mayRetry(failure, head.retriable(), replayable, attempts)) {
            owner.answerFailure(failure, cause, failed, false);
        } else if (proxy.budget().tryRetry()) {
            retry(failure, failed);
        } else if (failed != null && (failure == Failure.SENT || failure == Failure.NOT_SENT)) {
            // The budget is spent. It is there for failures that leave the workers up; the requests a worker's death
            // took with it are retried anyway, once the exit is known (RetryBudget says why).
            started().awaitExit(failed, exited -> {
                proxy.metrics().budgetExhausted(exited);
                if (exited) {
                    retry(failure, failed);
                } else {
                    owner.answerFailure(failure, cause, failed, true);
                }
            });
        } else {
            proxy.metrics().budgetExhausted(false);
            owner.answerFailure(failure, cause, failed, true);
        }
    }

    private Retries started() {
        if (retries == null) {
            retries = new Retries(proxy.router(), loop, proxy.retry().backoff().toNanos(), owner::route);
        }
        return retries;
    }

    private void retry(Failure failure, Endpoint failed) {
        proxy.metrics().retried(failure);
        Retries next = started();
        if (failed != null) {
            next.failedOn(failed);
        }
        owner.route();
    }
}
