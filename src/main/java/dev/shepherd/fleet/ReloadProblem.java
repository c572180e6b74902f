package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerExit;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Why a reload failed, shaped as RFC 9457 problem details (the members {@code type}, {@code title}, {@code status},
 * {@code detail}, as every error of the admin API, plus extension members): the new worker that never took over,
 * its generation, its exit code (null when its program could not be started) and its last output lines, at most
 * {@link #LAST_LINES}, each cut to {@link #LINE_CHARS} characters. {@code status} is 502: the master's upstream,
 * the new worker, failed.
 */
public record ReloadProblem(String type, String title, int status, String detail, int worker, long generation,
                            @Schema(nullable = true) Integer exit, List<String> lastLines) {

    /** At most this many of the worker's last output lines. */
    public static final int LAST_LINES = 5;
    /** Each line cut to this many characters. */
    public static final int LINE_CHARS = 200;

    public ReloadProblem {
        lastLines = List.copyOf(lastLines);
    }

    /**
     * The problem of {@code worker}, a reload's new worker that ended as {@code exit} ({@code cause}) before it took
     * over, with a detail such as {@code worker 7 (generation 3) exited with code 1 before it was READY; last log
     * lines: "Error: Cannot find module '/srv/app/app-v3.js'"}.
     */
    static ReloadProblem of(Worker worker, ExitCause cause, WorkerExit exit) {
        return of(worker, cause, exit, false);
    }

    /** {@code tookOver}: the worker had taken over from an old one, and exited while the reload ran. */
    static ReloadProblem of(Worker worker, ExitCause cause, WorkerExit exit, boolean tookOver) {
        List<String> all = exit.lastLines();
        List<String> lines = all.subList(Math.max(0, all.size() - LAST_LINES), all.size()).stream()
                .map(line -> line.length() > LINE_CHARS ? line.substring(0, LINE_CHARS) : line).toList();
        String what = switch (cause) {
            case COULD_NOT_START -> exit.reason();
            case STARTUP_TIMEOUT -> "was " + exit.reason() + " and was killed";
            default -> "exited with code " + exit.code() + (exit.signal() == null ? "" : " (signal " + exit.signal() + ")")
                    + (tookOver ? " after it took over, while the reload ran" : worker.readyOnce() ? " before it took over"
                    : " before it was READY");
        };
        String detail = "worker " + worker.id + " (generation " + worker.generation + ") " + what
                + (lines.isEmpty() ? "; it wrote no output" : "; last log lines: "
                + lines.stream().map(line -> "\"" + line + "\"").collect(Collectors.joining(", ")));
        return new ReloadProblem("about:blank", "Reload failed", 502, detail, worker.id, worker.generation,
                exit.pid() == 0 ? null : exit.code(), lines);
    }
}
