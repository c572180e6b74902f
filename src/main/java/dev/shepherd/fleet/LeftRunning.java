package dev.shepherd.fleet;

import dev.shepherd.fleet.SupervisorEvent.ProcessExited;
import lombok.extern.slf4j.Slf4j;

import java.util.List;

/**
 * What a worker's process that exited on its own left running: a program that forks into the background and exits
 * (a daemon's double fork, {@code --daemon}, a script's {@code app &}) was told only as "exited on its own", and
 * restarted for ever (found by a new user's attack). Its tree is killed when its exit is reaped, so this looks first.
 * Runs on the supervisor's thread.
 */
@Slf4j
final class LeftRunning {

    /** Processes left running that an exit's reason names; one more is said as "…". */
    private static final int NAMED = 3;

    private LeftRunning() {
    }

    /**
     * The processes of the tree still running ({@link dev.shepherd.worker.ChildProcess#survivors}) when the current
     * process of the worker exited on its own with code 0, before the tree is killed; empty for any other exit, which
     * is not looked at (without a cgroup, a look reads all of /proc).
     */
    static List<String> of(ProcessExited exited) {
        Worker worker = exited.worker();
        if (exited.code() != 0 || !worker.isCurrent(exited.process()) || worker.stopReason() != null
                || worker.requestedSignal() != null) {
            return List.of();
        }
        try {
            return exited.process().survivors(NAMED + 1);
        } catch (RuntimeException ex) {
            log.debug("Could not tell what worker {} left running", worker.id, ex);
            return List.of();
        }
    }

    /**
     * {@code survivors} as a clause of the exit's reason; empty for none. They were killed with its tree: a worker is
     * its foreground process, as systemd's {@code Type=simple}, Docker and PM2 run a program.
     */
    static String clause(List<String> survivors) {
        if (survivors.isEmpty()) {
            return "";
        }
        String named = String.join(", ", survivors.subList(0, Math.min(NAMED, survivors.size())))
                + (survivors.size() > NAMED ? ", …" : "");
        return " while " + (survivors.size() == 1 ? "a process" : "processes") + " it started, " + named
                + ", ran on, killed since with its tree: a worker must stay in the foreground, as under systemd's "
                + "Type=simple, Docker or PM2, not fork into the background and exit (no --daemon, no trailing &)";
    }
}
