package dev.shepherd;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code shepherd start}'s PROGRAM [ARG...] in PM2's shape, a script ({@code start app.js}): the options of start's
 * typed after it ({@link OptionsAfterProgram}), the interpreter PM2 runs it with, and what PM2 would read instead of
 * running it (an ecosystem file).
 */
public final class StartProgram {

    /** What PM2 takes for an ecosystem file rather than a script: {@code *.config.js} and JSON or YAML files. */
    private static final Pattern ECOSYSTEM = Pattern.compile(
            "(?i)(.*/)?[^/]*(\\.config\\.[cm]?js|\\.json|\\.ya?ml)");

    /** The interpreter PM2 runs a script with, by its extension (PM2's own table, the common part). */
    private static final Map<String, String> INTERPRETERS = Map.of(".js", "node", ".mjs", "node", ".cjs", "node",
            ".py", "python3", ".rb", "ruby", ".php", "php", ".sh", "bash", ".pl", "perl");

    private StartProgram() {
    }

    /**
     * What the options after PROGRAM come to: the lines that refuse them, or, when there are none, the notes to tell
     * once every argument is checked.
     */
    record AfterProgram(List<String> refusal, List<String> notes) {
    }

    /**
     * The lines that refuse start's own options after PROGRAM ({@link OptionsAfterProgram}), given {@code typed}, the
     * words as typed, and {@code command}, PROGRAM [ARG...] as parsed; none when there are none, or when a {@code --}
     * before PROGRAM or after it says that what follows is the program's. Refused only in PM2's shape, a script
     * ({@code start app.js -i max}, {@code start node app.js -i max}): other programs have options of their own by
     * those names (uwsgi's {@code -p 2}, gunicorn's pidfile, docker's {@code --name} and {@code -i}; found by an
     * attacking helper), and get a note.
     */
    static AfterProgram afterProgram(List<String> typed, List<String> command, CommandLine.Model.CommandSpec spec) {
        int program = typed.size() - command.size();
        if (command.isEmpty() || program < 0 || !typed.get(program).equals(command.get(0))
                || program > 0 && typed.get(program - 1).equals("--")) {
            return new AfterProgram(List.of(), List.of());
        }
        boolean interpreted = INTERPRETERS.containsValue(typed.get(program)) && program + 1 < typed.size()
                && isScript(typed.get(program + 1));
        boolean script = isScript(typed.get(program)) || interpreted;
        List<String> refusal = script ? OptionsAfterProgram.refusal(typed, program, interpreted, spec) : List.of();
        return new AfterProgram(refusal, refusal.isEmpty() ? OptionsAfterProgram.notes(typed, program, !script)
                : List.of());
    }

    /** Whether {@code word} names a script by an extension PM2 picks an interpreter for ({@code app.js}). */
    private static boolean isScript(String word) {
        return word.lastIndexOf('.') > 0 && interpreterOf(word) != null;
    }

    /** The interpreter PM2 picks for {@code program} by its extension; null when it has none PM2 knows. */
    private static String interpreterOf(String program) {
        int dot = program.lastIndexOf('.');
        return dot < 0 ? null : INTERPRETERS.get(program.substring(dot).toLowerCase(Locale.ROOT));
    }

    /**
     * The interpreter PM2 would run {@code program} with, when it is a script by its extension ({@code app.js}) that is
     * a file in {@code workingDirectory} (null: the current one) and not executable; else null. For {@code shepherd
     * reload --command}, whose {@code app-v2.js} failed with the JDK's "No such file or directory" where {@code start
     * app.js} adds node (found by a helper acting as a new user).
     */
    public static String interpreterFor(String program, String workingDirectory) {
        String interpreter = interpreterOf(program);
        if (interpreter == null) {
            return null;
        }
        try {
            Path path = Path.of(workingDirectory == null ? "" : workingDirectory).resolve(program);
            return Files.isRegularFile(path) && !Files.isExecutable(path) ? interpreter : null;
        } catch (InvalidPathException noPath) {
            return null;
        }
    }

    /**
     * A script that is no executable file as PROGRAM ({@code start app.js}, PM2's habit) runs with its interpreter, as
     * PM2 runs it: added to {@code command}, with a note on {@code err} (found by an attacking helper: the master ran,
     * and every worker failed with "No such file or directory"). An executable script runs as it is, by its {@code #!}
     * line. A script that is not there, from {@code workingDirectory} (null: the current one), is a usage error, as
     * PM2's "Script not found" (it ran, and every worker crash-looped on node's "Cannot find module": found by a new
     * user).
     */
    static void addInterpreter(CommandLine line, List<String> command, String workingDirectory, PrintWriter err,
                               Map<String, String> env) {
        if (command.isEmpty()) {
            return;
        }
        String program = command.get(0);
        refuseEcosystemFile(line, program);
        String interpreter = interpreterOf(program);
        if (interpreter == null) {
            return;
        }
        try {
            Path path = Path.of(workingDirectory == null ? "" : workingDirectory).resolve(program);
            if (Files.isRegularFile(path) && Files.isExecutable(path)) {
                return;
            }
            if (!Files.isRegularFile(path) && !program.contains("/") && onPath(program, env)) {
                // An executable on the PATH (docker-entrypoint.sh): run as it is, as before.
                return;
            }
            if (!Files.isRegularFile(path)) {
                throw new CommandLine.ParameterException(line, "script not found: " + path.toAbsolutePath()
                        + (workingDirectory == null ? " (PROGRAM is found from the current directory, or from --cwd)"
                        : "") + "; to run it anyway, give its interpreter first: " + interpreter + " " + program);
            }
        } catch (InvalidPathException noPath) {
            return;
        }
        command.add(0, interpreter);
        err.println("shepherd start: running " + TerminalText.safe(program) + " with " + interpreter + ", as PM2 does "
                + "(give the interpreter before it to pick another)");
        err.flush();
    }

    /**
     * A usage error when {@code program} is a PM2 ecosystem file: run with node "as PM2 does", it exited at once and
     * restarted for ever, PM2 reads such a file (a new user's).
     */
    private static void refuseEcosystemFile(CommandLine line, String program) {
        if (ECOSYSTEM.matcher(program).matches()) {
            throw new CommandLine.ParameterException(line, program + " looks like a PM2 ecosystem file, which PM2 "
                    + "reads and Shepherd does not: give its app's script and settings here (shepherd start -i "
                    + "INSTANCES -e NAME=VALUE ... SCRIPT), or as Shepherd's settings (see the README's Configuration)");
        }
    }

    /** Whether {@code program} is an executable file in a directory of {@code env}'s PATH. */
    private static boolean onPath(String program, Map<String, String> env) {
        for (String directory : env.getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            try {
                Path candidate = Path.of(directory.isEmpty() ? "." : directory, program);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return true;
                }
            } catch (InvalidPathException notAPath) {
                // Another directory may hold it.
            }
        }
        return false;
    }
}
