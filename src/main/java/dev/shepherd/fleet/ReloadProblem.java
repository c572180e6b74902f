package dev.shepherd.fleet;

import dev.shepherd.worker.WorkerExit;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Why a reload failed, shaped as RFC 9457 problem details (the members {@code type}, {@code title}, {@code status},
 * {@code detail}, as every error of the admin API, plus extension members): the new worker that never took over,
 * its generation, its exit code (null when its program could not be started), its last output lines, at most
 * {@link #LAST_LINES}, each cut to {@link #LINE_CHARS} characters, and the first of the lines it wrote last that
 * reads as an error ({@code errorLine}, null when none does; see {@link #errorLine}). {@code status} is 502: the
 * master's upstream, the new worker, failed.
 */
public record ReloadProblem(String type, String title, int status, String detail, int worker, long generation,
                            @Schema(nullable = true) Integer exit, List<String> lastLines,
                            @Schema(nullable = true) String errorLine) {

    /** At most this many of the worker's last output lines. */
    public static final int LAST_LINES = 5;
    /** Each line cut to this many characters. */
    public static final int LINE_CHARS = 200;

    /**
     * A line that starts an error report: a JavaScript, Python or Java error or exception ({@code Error: Cannot find
     * module}, {@code TypeError: …}, Node's {@code Error [ERR_MODULE_NOT_FOUND]: …},
     * {@code java.lang.IllegalStateException: …}, {@code Exception in thread "main" …}, {@code Caused by: …}), Go's
     * {@code panic:}, the word error or fatal followed by a colon ({@code fatal: not a git repository}; not
     * {@code Error tracking: on}), Ruby's uncaught exception, whose class ends the line ({@code app.rb:1:in
     * 'require': cannot load such file -- sinatra (LoadError)}, {@code (Errno::ENOENT)}), or a system error in
     * Python's words ({@code python3: can't open file 'app.py': [Errno 2] No such file or directory}).
     */
    private static final Pattern ERROR_LINE = Pattern.compile("^\\s*(?:[\\w$.]*(?:Error|Exception)(?::| \\[[^\\]]*]:|$)"
            + "|Exception in thread |Caused by: |panic: |(?i:error|fatal):)|\\[Errno \\d+] ");
    /**
     * Ruby's exception class at the end of a line that has {@code :in }; looked for apart, with no {@code .*} between
     * the two: a worker's line of 1 MB ({@code log-line-length}) made of {@code :in (} took the supervisor's thread
     * for as long as the product of their counts.
     */
    private static final Pattern RUBY_CLASS = Pattern.compile("\\((?:[A-Z]\\w*::)*(?:[A-Z]\\w*(?:Error|Exception)|E[A-Z]+)\\)\\s*$");

    /**
     * The line where Node says a script failed to compile or threw at its top level, a few lines above the error:
     * {@code /srv/app/app.js:3}, then the code, a caret and a blank line ({@code node:internal/…} is Node's own).
     */
    private static final Pattern NODE_LOCATION = Pattern.compile("^(?:file://)?/\\S*:\\d+$");

    public ReloadProblem {
        lastLines = List.copyOf(lastLines);
    }

    /**
     * The last of {@code lines} (the last ones a process wrote, oldest first) that reads as the start of an error
     * report ({@link #ERROR_LINE}), cut to {@link #LINE_CHARS} characters; null when none does. Node prints the
     * error's message before its stack, its {@code code} and its version (the last five lines of a missing module
     * named neither the module nor the error), and Java before its stack frames, so the last lines alone often
     * leave the cause out. The last, not the first: errors logged and retried come before the one that ended the
     * process, and Java's {@code Caused by:} and Python's chained exceptions end with the cause or the final error
     * (the first sent a new user to a database retry instead of a missing file).
     */
    static String errorLine(List<String> lines) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            String line = lines.get(i);
            if (ERROR_LINE.matcher(line).find() || line.contains(":in ") && RUBY_CLASS.matcher(line).find()) {
                // A SyntaxError says no file: Node put it above the code frame (found by a new user).
                for (int above = i - 1; above >= Math.max(0, i - 4); above--) {
                    if (NODE_LOCATION.matcher(lines.get(above)).matches()) {
                        return cut(lines.get(i) + " (" + lines.get(above) + ")");
                    }
                }
                return cut(lines.get(i));
            }
        }
        return null;
    }

    private static String cut(String line) {
        return line.length() > LINE_CHARS ? line.substring(0, LINE_CHARS) : line;
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
                .map(ReloadProblem::cut).toList();
        String errorLine = exit.errorLine() != null ? exit.errorLine() : errorLine(all);
        String what = switch (cause) {
            case COULD_NOT_START -> exit.reason();
            case STARTUP_TIMEOUT -> "was " + exit.reason() + " and was killed";
            default -> "exited with code " + exit.code() + (exit.signal() == null ? "" : " (signal " + exit.signal() + ")")
                    + (tookOver ? " after it took over, while the reload ran" : worker.readyOnce() ? " before it took over"
                    : " before it was READY");
        };
        String detail = "worker " + worker.id + " (generation " + worker.generation + ") " + what
                + (errorLine == null || lines.contains(errorLine) ? "" : "; error: \"" + errorLine + "\"")
                + (lines.isEmpty() ? "; it wrote no output" : "; last log lines: "
                + lines.stream().map(line -> "\"" + line + "\"").collect(Collectors.joining(", ")));
        return new ReloadProblem("about:blank", "Reload failed", 502, detail, worker.id, worker.generation,
                exit.pid() == 0 ? null : exit.code(), lines, errorLine);
    }
}
