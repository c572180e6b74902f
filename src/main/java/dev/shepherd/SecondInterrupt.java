package dev.shepherd;

import lombok.extern.slf4j.Slf4j;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ctrl-C twice stops the master at once, as a second Ctrl-C does with {@code docker compose up} and gunicorn's quick
 * shutdown does on SIGINT: the first {@code SIGINT} starts the graceful stop as before (the proxy drains, the workers
 * get their stop signal), the second ends the master without waiting (exit code 130), and its orphan guard
 * ({@link dev.shepherd.worker.OrphanGuard}) kills the workers' process trees. A master started with {@code SIGINT}
 * ignored (a background job of a script) keeps it ignored, as the JVM does.
 */
@Slf4j
final class SecondInterrupt {

    /** 128 + SIGINT, the shell's code for a process ended by Ctrl-C. */
    static final int EXIT_CODE = 130;

    /** The longest the stop at once waits for its last log lines to reach the console. */
    private static final Duration LAST_WORDS = Duration.ofMillis(500);

    private SecondInterrupt() {
    }

    /** Installs the handler; does nothing where the JVM lets no handler be installed ({@code -Xrs}). */
    static void install() {
        Signal interrupt = new Signal("INT");
        AtomicBoolean stopping = new AtomicBoolean();
        SignalHandler[] previous = new SignalHandler[1];
        try {
            previous[0] = Signal.handle(interrupt, signal -> {
                if (stopping.compareAndSet(false, true)) {
                    log.info("Interrupted: stopping gracefully, requests in flight may finish (interrupt again to stop "
                            + "at once)");
                    if (previous[0] == SignalHandler.SIG_DFL) {
                        System.exit(EXIT_CODE);
                    } else {
                        previous[0].handle(signal);
                    }
                } else {
                    log.warn("Interrupted again: stopping at once; requests in flight are cut and the workers' process "
                            + "trees killed");
                    ConsoleBuffer.flush(LAST_WORDS);
                    Runtime.getRuntime().halt(EXIT_CODE);
                }
            });
        } catch (IllegalArgumentException ex) {
            return;
        }
        if (previous[0] == SignalHandler.SIG_IGN) {
            Signal.handle(interrupt, SignalHandler.SIG_IGN);
        }
    }
}
