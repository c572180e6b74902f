package dev.shepherd.fleet;

import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The master's signals as gunicorn reads them: {@code SIGHUP} starts a rolling reload of every worker with the
 * current spec (gunicorn's, uWSGI's and unicorn's graceful reload; nginx's {@code -s reload}), {@code SIGTTIN} scales
 * up by one worker and {@code SIGTTOU} down by one (gunicorn's). So {@code kill -HUP <master>} no longer stops the
 * whole fleet, as the JVM's default for {@code SIGHUP} did. A master started with a signal ignored ({@code nohup}
 * ignores {@code SIGHUP}) keeps it ignored, as the JVM does; with {@code -Xrs} none is installed.
 *
 * <p>The signals' work runs on one thread of its own, in the order they came, off the JVM's signal dispatcher, and
 * waits for the supervisor like an admin command; each outcome is one log line.
 */
@Slf4j
@Component
class FleetSignals {

    /**
     * One thread for every signal's work, in the order they came: a storm of them is a queue, not a thread each. It
     * ends after a minute idle.
     */
    private static final ThreadPoolExecutor WORK = new ThreadPoolExecutor(0, 1, 60, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), runnable -> {
                Thread thread = new Thread(runnable, "fleet-signals");
                thread.setDaemon(true);
                return thread;
            });

    private final WorkerFleetService fleet;

    FleetSignals(WorkerFleetService fleet) {
        this.fleet = fleet;
    }

    /** Installed once the fleet has started: before that, a reload or scale has nothing to act on. */
    @EventListener(ApplicationReadyEvent.class)
    void install() {
        handle("HUP", this::reload);
        handle("TTIN", signal -> scaleBy(1));
        handle("TTOU", signal -> scaleBy(-1));
    }

    private static void handle(String name, Consumer<Signal> action) {
        Signal signal = new Signal(name);
        SignalHandler previous;
        try {
            previous = Signal.handle(signal, received -> WORK.execute(() -> action.accept(received)));
        } catch (IllegalArgumentException unavailable) {
            // -Xrs, or a signal the JVM keeps for itself.
            log.debug("SIG{} is not handled: {}", name, unavailable.getMessage());
            return;
        }
        if (previous == SignalHandler.SIG_IGN) {
            Signal.handle(signal, SignalHandler.SIG_IGN);
        }
    }

    private void reload(Signal signal) {
        try {
            ReloadStatus status = fleet.reload(WorkerSpecPatch.NONE);
            log.info("SIGHUP: rolling reload to generation {} started (every worker is replaced, surge-first; "
                    + "shepherd status shows its progress)", status.generation());
        } catch (RuntimeException failed) {
            // A reload that runs already, a rollback under way, a busy supervisor: said as the admin API says it.
            log.warn("SIGHUP: no reload started: {}", failed.getMessage());
        }
    }

    private void scaleBy(int change) {
        String name = change > 0 ? "SIGTTIN" : "SIGTTOU";
        try {
            // Relative in the supervisor: signals sent at once add up (read here and set, they were lost; found by an
            // attacking helper).
            int before = fleet.scaleBy(change);
            log.info("{}: scaling from {} to {} workers", name, before, before + change);
        } catch (RuntimeException refused) {
            // Below 1 or above fleet.max-workers, a reload running, a busy supervisor.
            log.warn("{}: the fleet's size stays as it is: {}", name, refused.getMessage());
        }
    }
}
