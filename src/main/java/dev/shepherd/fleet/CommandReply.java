package dev.shepherd.fleet;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The reply to an admin command, which its sender withdraws when the supervisor has not begun the command in time:
 * then the command never runs, and the sender can say "nothing changed, send it again" (a {@code 503} with
 * {@code Retry-After} means that, RFC 9110 §15.6.4) rather than leave a command queued that a retry would give
 * twice. Either the supervisor begins the command ({@link #begin}) or the sender withdraws it ({@link #withdraw}):
 * whichever comes first, by one compare-and-set.
 *
 * @param <T> the command's result
 */
final class CommandReply<T> extends CompletableFuture<T> {

    /** How long a command that the supervisor has begun may take before its sender stops waiting for it. */
    static final Duration UNDER_WAY_TIMEOUT = Duration.ofSeconds(60);

    private final AtomicBoolean decided = new AtomicBoolean();

    /**
     * On the supervisor's thread, before it runs the command: false when the sender withdrew it (then the command
     * must not run); once true, the command can no longer be withdrawn.
     */
    boolean begin() {
        return decided.compareAndSet(false, true);
    }

    /** Whether the command will never run: the supervisor had not begun it. Any thread. */
    boolean withdraw() {
        return decided.compareAndSet(false, true);
    }

    /**
     * Waits for the result on the caller's thread: {@code timeout} for the supervisor to answer; then the command is
     * withdrawn, or, when the supervisor has begun it, awaited up to {@code underWay} more.
     *
     * @throws FleetExceptions.SupervisorBusyException when the command was withdrawn (nothing changed), or begun
     *         and not finished in time (it finishes on its own)
     * @throws RuntimeException the command's own refusal ({@link FleetExceptions})
     */
    T await(Duration timeout, Duration underWay) {
        try {
            try {
                return get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException ex) {
                if (withdraw()) {
                    throw FleetExceptions.SupervisorBusyException.withdrawn(timeout.toSeconds());
                }
                return get(underWay.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (TimeoutException ex) {
            throw FleetExceptions.SupervisorBusyException.underWay(timeout.plus(underWay).toSeconds());
        } catch (ExecutionException ex) {
            if (ex.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(ex.getCause());
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the supervisor", ex);
        }
    }
}
