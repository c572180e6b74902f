package dev.shepherd.fleet;

import lombok.extern.slf4j.Slf4j;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The master's shutdown of the fleet, on the thread that stops the Spring context: every worker drains and stops;
 * what still runs after {@code drain-timeout + kill-timeout + 2 s} is killed; then the orphan guard closes and the
 * supervisor's thread ends.
 */
@Slf4j
final class FleetShutdown {

    private static final Duration LAST_STEP_TIMEOUT = Duration.ofSeconds(5);

    private FleetShutdown() {
    }

    /** Blocks until the workers are gone, or killed. */
    static void run(FleetProperties properties, SupervisorLoop loop, Supervisor supervisor) {
        Duration grace = properties.worker().drainTimeout().plus(properties.worker().killTimeout()).plusSeconds(2);
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        loop.post(new SupervisorEvent.ShutdownRequested(stopped));
        try {
            stopped.get(grace.toMillis(), TimeUnit.MILLISECONDS);
            log.info("All workers stopped");
        } catch (TimeoutException ex) {
            log.warn("Workers still running after {} ms; killing them", grace.toMillis());
            runNow(loop, supervisor::killAll, "kill the workers left");
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            runNow(loop, supervisor::killAll, "kill the workers left");
        } catch (ExecutionException ex) {
            log.warn("Stopping the fleet failed", ex.getCause());
        } finally {
            runNow(loop, supervisor::closeOrphanGuard, "stop the orphan guard");
            loop.shutdown();
        }
    }

    /** Runs {@code task} on the supervisor's thread, waiting at most {@link #LAST_STEP_TIMEOUT}; {@code what} names it. */
    private static void runNow(SupervisorLoop loop, Runnable task, String what) {
        try {
            loop.runAndWait(task, LAST_STEP_TIMEOUT);
        } catch (Exception ex) {
            log.warn("Could not {} on the supervisor's thread within {} s: {}", what, LAST_STEP_TIMEOUT.toSeconds(),
                    ex.toString());
        }
    }
}
