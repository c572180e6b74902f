package dev.shepherd.worker;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * How one process of a worker ended.
 *
 * @param pid the process that exited, or 0 when it never started
 * @param code the exit code; for a process ended by a signal, 128 + the signal number, as a shell reports it
 * @param signal the signal's name when the code says the process was killed by one, else null
 * @param at when the exit was seen
 * @param uptime how long the process ran
 * @param reason why: "crashed", "stopped", "liveness probe failed", "cannot start: ..." and the like
 * @param lastLines the last lines the process wrote before it ended: to its stderr when those hold an error report
 *                  (a stack trace), else to either stream
 * @param errorLine the last of the lines it wrote last that starts an error report, looked for in its stderr first,
 *                  or null when none does (see {@code ReloadProblem.errorLine})
 */
public record WorkerExit(long pid, int code, String signal, Instant at, Duration uptime, String reason, List<String> lastLines,
                         String errorLine) {

    /** An exit with no error line. */
    public WorkerExit(long pid, int code, String signal, Instant at, Duration uptime, String reason, List<String> lastLines) {
        this(pid, code, signal, at, uptime, reason, lastLines, null);
    }

    private static final String[] SIGNALS = {null, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL",
            "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM"};

    /** The signal that a shell-style exit code above 128 stands for, or null. */
    public static String signalOf(int code) {
        int number = code - 128;
        return number > 0 && number < SIGNALS.length ? SIGNALS[number] : null;
    }

    public boolean clean() {
        return code == 0;
    }
}
