package dev.shepherd.fleet;

import lombok.extern.slf4j.Slf4j;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The supervisor's one thread and its loop: every {@link SupervisorEvent} (exit, probe result, timer, admin command)
 * is handed to {@link Supervisor#handle} here, and each ends by reconciling the fleet and publishing a new snapshot.
 * Posting is safe from any thread.
 *
 * <p>The thread is a long-lived platform thread because it spawns every worker, and the parent-death signal
 * that ends workers with the master is tied to the thread that spawned them.
 */
@Slf4j
final class SupervisorLoop implements SupervisorQueue {

    private final ScheduledThreadPoolExecutor executor;
    private final Consumer<Supervisor> afterEach;
    private Supervisor supervisor;

    SupervisorLoop(Consumer<Supervisor> afterEach) {
        this.afterEach = afterEach;
        this.executor = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "fleet-supervisor");
            thread.setDaemon(true);
            return thread;
        });
        this.executor.setRemoveOnCancelPolicy(true);
    }

    void attach(Supervisor supervisor) {
        this.supervisor = supervisor;
    }

    /** Hands {@code event} to the supervisor on its thread, then reconciles and publishes. */
    @Override
    public void post(SupervisorEvent event) {
        if (executor.isShutdown()) {
            return;
        }
        executor.execute(() -> {
            // Errors too: the executor's task would keep one to itself, unseen (a thread the master could not start
            // left a worker STARTING for good with no line in the log; found by an attacking helper).
            try {
                supervisor.handle(event);
            } catch (RuntimeException | Error ex) {
                log.error("Supervisor failed to handle {}", event.getClass().getSimpleName(), ex);
            }
            try {
                afterEach.accept(supervisor);
            } catch (RuntimeException | Error ex) {
                log.error("Reconciling the fleet failed", ex);
            }
        });
    }

    @Override
    public Scheduled schedule(SupervisorEvent event, Duration delay) {
        ScheduledFuture<?> future = executor.schedule(() -> post(event), delay.toMillis(), TimeUnit.MILLISECONDS);
        return () -> future.cancel(false);
    }

    void every(SupervisorEvent event, Duration interval) {
        executor.scheduleWithFixedDelay(() -> post(event), interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Runs {@code task} on the supervisor's thread and waits for it, outside the dispatch and without the reconcile
     * step (the events it records are seen at its end): only for the last steps of a shutdown (kill what is left, close the orphan guard).
     */
    void runAndWait(Runnable task, Duration timeout) throws Exception {
        executor.submit(() -> {
            task.run();
            supervisor.published();
        }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    void shutdown() {
        executor.shutdownNow();
    }
}
