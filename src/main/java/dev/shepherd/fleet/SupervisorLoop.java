package dev.shepherd.fleet;

import lombok.extern.slf4j.Slf4j;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The supervisor's one thread and its loop: every event (exit, probe result, timer, admin command) runs as a
 * task here, and each task ends by reconciling the fleet and publishing a new snapshot.
 *
 * <p>The thread is a long-lived platform thread because it spawns every worker, and the parent-death signal
 * that ends workers with the master is tied to the thread that spawned them.
 */
@Slf4j
final class SupervisorLoop {

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

    /** Runs {@code task} on the supervisor's thread, then reconciles and publishes. */
    void post(Runnable task) {
        if (executor.isShutdown()) {
            return;
        }
        executor.execute(() -> {
            try {
                task.run();
            } catch (RuntimeException ex) {
                log.error("Supervisor task failed", ex);
            }
            try {
                afterEach.accept(supervisor);
            } catch (RuntimeException ex) {
                log.error("Reconciling the fleet failed", ex);
            }
        });
    }

    /** Posts {@code task} after {@code delay}. */
    ScheduledFuture<?> schedule(Runnable task, Duration delay) {
        return executor.schedule(() -> post(task), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    void every(Runnable task, Duration interval) {
        executor.scheduleWithFixedDelay(() -> post(task), interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Runs {@code task} on the supervisor's thread and waits for it, without the reconcile step. */
    void runAndWait(Runnable task, Duration timeout) throws Exception {
        executor.submit(task).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    void shutdown() {
        executor.shutdownNow();
    }
}
