package dev.shepherd.fleet;

import dev.shepherd.Plural;
import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationContext;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The master's signals as gunicorn reads them: {@code SIGHUP} starts a rolling reload of every worker with the
 * current spec (gunicorn's, uWSGI's and unicorn's graceful reload; nginx's {@code -s reload}), {@code SIGTTIN} scales
 * up by one worker and {@code SIGTTOU} down by one (gunicorn's). So {@code kill -HUP <master>} no longer stops the
 * whole fleet, as the JVM's default for {@code SIGHUP} did. {@code SIGUSR1} reopens the worker log files (nginx's and
 * gunicorn's; a logrotate {@code postrotate} sends it), and so does {@code SIGUSR2} (PM2's {@code reloadLogs}) where
 * the JVM leaves it free: a {@code kill -USR1} ended the master (the JVM's default), a {@code kill -USR2} crashed it
 * on Java 17 (found by a new user; JDK-8288556: HotSpot suspends threads with {@code SIGUSR2} and fell over one sent
 * from outside, fixed in Java 20). HotSpot takes another signal for that when {@code _JAVA_SR_SIGNUM} names one,
 * as {@code bin/shepherd}, the systemd unit and the Docker image set it; without it {@code SIGUSR2} stays the JVM's,
 * and is taken and dropped below Java 20 (which leaves JFR's execution samples of the master empty there; not ignored,
 * which the workers would inherit). A master started with
 * a signal ignored ({@code nohup} ignores {@code SIGHUP}) keeps it ignored, as the JVM does; with {@code -Xrs} none is
 * installed.
 *
 * <p>The signals' work runs on one thread of its own, in the order they came, off the JVM's signal dispatcher, and
 * waits for the supervisor like an admin command; each outcome is one log line.
 */
@Slf4j
@Component
public class FleetSignals {

    /**
     * One thread for every signal's work, in the order they came: a storm of them is a queue, not a thread each, of at
     * most {@value #MAX_WAITING} (past it a signal is dropped, logged at DEBUG). It ends after a minute idle.
     */
    private static final int MAX_WAITING = 1024;

    private static final ThreadPoolExecutor WORK = new ThreadPoolExecutor(0, 1, 60, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(MAX_WAITING), runnable -> {
                Thread thread = new Thread(runnable, "fleet-signals");
                thread.setDaemon(true);
                return thread;
            }, (dropped, pool) -> log.debug("Dropped a signal: {} wait already", MAX_WAITING));

    private static final AtomicBoolean INSTALLED = new AtomicBoolean();

    /** The fleet the signals act on: set once the application is ready, cleared when it closes. */
    private static volatile WorkerFleetService current;

    private final WorkerFleetService fleet;
    private final ApplicationContext context;

    FleetSignals(WorkerFleetService fleet, ApplicationContext context) {
        this.fleet = fleet;
        this.context = context;
    }

    /**
     * Installs the handlers, once, as early as the master's {@code main} (found by an attacking helper: installed only
     * once the application was ready, a {@code SIGHUP} in the seconds of a start stopped the master, and a
     * {@code SIGTTIN} from a terminal froze it). Until the fleet is ready, and once it closes, a signal is logged and
     * ignored. Also called when the application is ready, for one not started by {@code main} (a test).
     */
    public static void install() {
        if (INSTALLED.compareAndSet(false, true)) {
            handle("HUP", signal -> reload());
            handle("TTIN", signal -> scaleBy(1));
            handle("TTOU", signal -> scaleBy(-1));
            handle("USR1", signal -> reopenLogFiles("SIGUSR1"));
            if (!usr2KeptByJvm(System.getenv("_JAVA_SR_SIGNUM"))) {
                handle("USR2", signal -> reopenLogFiles("SIGUSR2"));
            } else if (Runtime.version().feature() < 20) {
                // Taken and dropped, not ignored: an ignored signal stays ignored across exec, and every worker the
                // master started then ignored USR2 too (the suite's own masters found it).
                handle("USR2", signal -> log.debug("SIGUSR2 dropped: the JVM keeps it below Java 20 unless "
                        + "_JAVA_SR_SIGNUM names another signal"));
            }
        }
    }

    /**
     * Whether HotSpot suspends and resumes threads with {@code SIGUSR2}: unless {@code srSignum}, the value of
     * {@code _JAVA_SR_SIGNUM}, names another signal it takes (a number from 13 to 64), read as its
     * {@code SR_initialize} reads it, with C's {@code strtol}: leading white space, then ASCII digits, the rest
     * ignored ({@code 39abc} is 39; {@code Integer.parseInt} took Arabic-Indic digits, which HotSpot does not: a
     * re-attacking helper's).
     */
    static boolean usr2KeptByJvm(String srSignum) {
        if (srSignum == null) {
            return true;
        }
        int i = 0;
        while (i < srSignum.length() && " \t\n\r\f\u000b".indexOf(srSignum.charAt(i)) >= 0) {
            i++;
        }
        long number = 0;
        while (i < srSignum.length() && srSignum.charAt(i) >= '0' && srSignum.charAt(i) <= '9' && number < 1000) {
            number = number * 10 + (srSignum.charAt(i++) - '0');
        }
        return number <= 12 || number >= 65;
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        current = fleet;
        install();
    }

    @EventListener
    void closed(ContextClosedEvent closed) {
        // A child context's close reaches this one's listeners too: only this context's own counts.
        if (closed.getApplicationContext() == context && current == fleet) {
            current = null;
        }
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

    private static void reload() {
        WorkerFleetService fleet = current;
        if (fleet == null) {
            log.warn("SIGHUP while the master starts or stops: no reload; send it again once it has started");
            return;
        }
        try {
            ReloadStatus status = fleet.reload(WorkerSpecPatch.NONE);
            log.info("SIGHUP: rolling reload to generation {} started (every worker is replaced, surge-first; "
                    + "shepherd status shows its progress)", status.generation());
        } catch (RuntimeException failed) {
            // A reload that runs already, a rollback under way, a busy supervisor: said as the admin API says it.
            log.warn("SIGHUP: no reload started: {}", failed.getMessage());
        }
    }

    private static void reopenLogFiles(String name) {
        WorkerFleetService fleet = current;
        if (fleet == null) {
            log.warn("{} while the master starts or stops: no worker log file reopened", name);
            return;
        }
        int slots = fleet.reopenLogFiles();
        if (slots == 0) {
            log.info("{}: no worker log file to reopen (fleet.worker.log-directory is not set)", name);
        } else {
            log.info("{}: the worker log files of {} reopened", name, Plural.of(slots, "slot"));
        }
    }

    private static void scaleBy(int change) {
        String name = change > 0 ? "SIGTTIN" : "SIGTTOU";
        WorkerFleetService fleet = current;
        if (fleet == null) {
            log.warn("{} while the master starts or stops: the fleet's size stays as it is", name);
            return;
        }
        try {
            // Relative in the supervisor: signals sent at once add up (read here and set, they were lost; found by an
            // attacking helper).
            int before = fleet.scaleBy(change);
            log.info("{}: scaling from {} to {}", name, before, Plural.of(before + change, "worker"));
        } catch (RuntimeException refused) {
            // Below 1 or above fleet.max-workers, a reload running, a busy supervisor.
            log.warn("{}: the fleet's size stays as it is: {}", name, refused.getMessage());
        }
    }
}
