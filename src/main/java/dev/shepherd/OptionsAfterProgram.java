package dev.shepherd;

import dev.shepherd.TypedOption.Kind;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * {@code shepherd start}'s own options typed after PROGRAM, as PM2 takes them anywhere ({@code pm2 start app.js -i
 * max}, its most common line): refused, with the command corrected both ways, unless a {@code --} before PROGRAM, or
 * one after it before them, leaves them to the program. Passed to the program with a note, {@code -i 1} ran a fleet
 * of one worker per CPU (found by an attacking helper, then by a new user who read past the note among the startup
 * logs). {@code --port {port}} is the program's (no worker can take one fixed port), {@code --watch} only gets a
 * note ({@link #notes}), so that {@code start node app.js --port {port}} and {@code start node --watch app.js} run
 * as typed; a program's other options stay its own ({@code start node --inspect app.js}). Options are found as
 * picocli reads them before PROGRAM ({@code -i4}, {@code -p=3000}; {@link TypedOption}): {@code -i4} and PM2's
 * {@code -n api} ran as the script's arguments. An option without its value is left out of the corrected command,
 * which said {@code start -i app.js}, {@code -i}'s value the script.
 */
final class OptionsAfterProgram {

    /** Options that programs take too ({@code node --watch}): after PROGRAM, a note says whose they are. */
    private static final List<String> NOTED = List.of("--watch");
    /** PM2's meanings of start's {@code -e} and {@code --env}, with a value that is no NAME=VALUE; what does it here. */
    private static final Map<String, String> PM2_ENV = Map.of(
            "-e", "Here -e NAME=VALUE gives every worker a variable; for PM2's -e FILE, its error log, set "
                    + "fleet.worker.log-directory (--set fleet.worker.log-directory=DIR): each worker slot's stderr goes "
                    + "to DIR/worker-N-err.log; shepherd logs --err shows it too.",
            "--env", "Here --env NAME=VALUE gives every worker a variable; PM2's --env NAME picks an environment of an "
                    + "ecosystem file, which Shepherd does not read.");
    /** A word the shell passes on as it is, without quotes (no braces: {@code {a,b}} is expanded). */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private OptionsAfterProgram() {
    }

    /**
     * The lines that refuse {@code typed} (start's words, PROGRAM at {@code program}, an interpreter when {@code
     * interpreted}, with the script after it), or none when no option of start's, nor of PM2's alone, comes after
     * PROGRAM before a {@code --}. {@code spec} is start's, for its options' values ({@code -i N}).
     */
    static List<String> refusal(List<String> typed, int program, boolean interpreted,
                                CommandLine.Model.CommandSpec spec) {
        List<String> after = typed.subList(program + 1, typed.size());
        TypedOption.Scan scan = TypedOption.scan(after);
        if (scan.options().isEmpty()) {
            return List.of();
        }
        String name = typed.get(program);
        List<TypedOption> moved = scan.options().stream().filter(option -> option.kind() == Kind.START).toList();
        List<String> replaced = new ArrayList<>();
        List<String> forStart = without(typed.subList(0, program), moved, spec, replaced);
        lastOfEach(moved, spec, replaced).forEach(option -> forStart.addAll(option.words()));
        forStart.addAll(program(name, interpreted, scan.options()));
        int end = forStart.size() + (interpreted ? 1 : 0);
        forStart.addAll(scan.left());
        // A -- before PROGRAM: every word after it is the program's, as typed.
        List<String> forProgram = new ArrayList<>(typed.subList(0, program));
        forProgram.add("--");
        forProgram.add(name);
        forProgram.addAll(after);
        List<String> options = scan.options().stream().map(TypedOption::name).distinct().toList();
        String many = options.size() > 1 ? "s" : "";
        List<String> lines = new ArrayList<>();
        lines.add("shepherd start: " + joined(options) + " after PROGRAM would be " + name + "'s argument" + many
                + "; start takes its options before PROGRAM (PM2 takes them anywhere):");
        lines.add("  " + command(forStart));
        lines.add("or, to give " + (many.isEmpty() ? "it" : "them") + " to " + name + ", with -- before PROGRAM:");
        lines.add("  " + command(forProgram));
        lines.addAll(noValue(scan.options(), spec));
        if (!replaced.isEmpty()) {
            lines.add(String.join(" ", replaced) + (replaced.size() > 2 ? " were" : " was") + " given again later, "
                    + "and start takes " + (replaced.size() > 2 ? "each" : "it") + " once: the first command keeps "
                    + "the last value typed, as PM2 does.");
        }
        lines.addAll(ownPort(scan.options(), forStart, end));
        scan.options().stream().map(OptionsAfterProgram::hint).filter(Objects::nonNull).distinct().forEach(lines::add);
        return lines.stream().map(TerminalText::safe).toList();
    }

    /**
     * The words before PROGRAM without the single-valued options that {@code moved} gives again (under either of their
     * names: {@code -p} and {@code --port}), which picocli refuses twice ({@code start -p 80 app.js -p 3000} was
     * corrected to {@code -p 80 -p 3000 app.js}, which fails); the words left out go to {@code replaced}.
     */
    private static List<String> without(List<String> before, List<TypedOption> moved, CommandLine.Model.CommandSpec spec,
                                        List<String> replaced) {
        List<CommandLine.Model.OptionSpec> again = moved.stream().map(option -> spec.findOption(option.name()))
                .filter(option -> option != null && !option.isMultiValue()).toList();
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < before.size(); i++) {
            String word = before.get(i);
            String name = TypedOption.name(word, TypedOption.OWN);
            if (name == null || !again.contains(spec.findOption(name))) {
                kept.add(word);
                continue;
            }
            replaced.add(word);
            if (word.equals(name) && i + 1 < before.size()) {
                replaced.add(before.get(++i));
            }
        }
        return kept;
    }

    /**
     * {@code moved} with only the last of each single-valued option ({@code app.js -p 3000 --port=3001}: picocli takes
     * {@code --port} once); the words of those left out go to {@code replaced}.
     */
    private static List<TypedOption> lastOfEach(List<TypedOption> moved, CommandLine.Model.CommandSpec spec,
                                                List<String> replaced) {
        List<TypedOption> kept = new ArrayList<>();
        for (int i = 0; i < moved.size(); i++) {
            CommandLine.Model.OptionSpec option = spec.findOption(moved.get(i).name());
            boolean later = option != null && !option.isMultiValue() && moved.subList(i + 1, moved.size()).stream()
                    .anyMatch(next -> spec.findOption(next.name()) == option);
            if (later) {
                replaced.addAll(moved.get(i).words());
            } else {
                kept.add(moved.get(i));
            }
        }
        return kept;
    }

    /**
     * PROGRAM as the corrected command gives it: {@code name}, with the interpreter that PM2's last {@code
     * --interpreter X} names before the script (instead of the interpreter typed, when {@code interpreted}), none for
     * PM2's {@code --interpreter none}, which runs the script itself.
     */
    private static List<String> program(String name, boolean interpreted, List<TypedOption> options) {
        String interpreter = options.stream().filter(option -> option.kind() == Kind.INTERPRETER)
                .map(TypedOption::value).reduce((first, last) -> last).orElse(null);
        List<String> program = new ArrayList<>();
        if (interpreter != null && !interpreter.equals("none")) {
            program.add(interpreter);
        }
        if (interpreter == null || !interpreted) {
            program.add(name);
        }
        return program;
    }

    /**
     * The line that tells start's options without the value they need, which the corrected command leaves out: its
     * {@code -i app.js} would take the script for {@code -i}'s value.
     */
    private static List<String> noValue(List<TypedOption> options, CommandLine.Model.CommandSpec spec) {
        List<String> names = options.stream().filter(option -> option.kind() == Kind.NO_VALUE).map(TypedOption::name)
                .distinct().toList();
        if (names.isEmpty()) {
            return List.of();
        }
        boolean one = names.size() == 1;
        return List.of(joined(names) + (one ? " needs a value, and has" : " need a value each, and have") + " none, "
                + "so the first command leaves " + (one ? "it" : "them") + " out: give " + (one ? "it" : "them")
                + " before PROGRAM as " + joined(names.stream().map(name -> name + " "
                + spec.findOption(name).paramLabel()).toList()) + ".");
    }

    /**
     * The lines that tell what {@code -p 3000} before PROGRAM, as {@code forStart} has it, does: the proxy's port, as
     * an app that reads PORT wants; one that takes its port only as an option wants {@code --port {port}}, inserted at
     * {@code end}, after the program's script.
     */
    private static List<String> ownPort(List<TypedOption> options, List<String> forStart, int end) {
        TypedOption port = options.stream().filter(TypedOption::isPort).findFirst().orElse(null);
        if (port == null) {
            return List.of();
        }
        List<String> withPort = new ArrayList<>(forStart);
        withPort.addAll(end, List.of("--port", "{port}"));
        return List.of(String.join(" ", port.words()) + " before PROGRAM is the proxy's port, and each worker gets "
                + "its own in PORT: right for an app that reads PORT; an app that takes its port only as an option "
                + "wants --port {port} after PROGRAM:", "  " + command(withPort));
    }

    /** What does it here, for one of PM2's options that start has not or takes otherwise; null for start's. */
    private static String hint(TypedOption option) {
        if (option.kind() == Kind.START || option.kind() == Kind.NO_VALUE) {
            return null;
        }
        return PM2_ENV.containsKey(option.name()) ? PM2_ENV.get(option.name()) : StartHabits.hint(option.name());
    }

    /** "-i", "-i and -p", "-i, -p and --name". */
    private static String joined(List<String> options) {
        int last = options.size() - 1;
        return last == 0 ? options.get(0) : String.join(", ", options.subList(0, last)) + " and " + options.get(last);
    }

    /**
     * A note for each option of {@link #NOTED} (with {@code all}, of start's and PM2's looked for too) after PROGRAM
     * ({@code typed}'s word at {@code program}) before a {@code --}: it is the program's, as it is typed there; none
     * when there is none.
     */
    static List<String> notes(List<String> typed, int program, boolean all) {
        List<String> names = new ArrayList<>(NOTED);
        if (all) {
            names.addAll(TypedOption.lookedFor());
        }
        List<String> notes = new ArrayList<>();
        for (String word : typed.subList(program + 1, typed.size())) {
            if (word.equals("--")) {
                break;
            }
            String option = TypedOption.name(word, names);
            if (option != null && notes.stream().noneMatch(note -> note.startsWith("shepherd start: " + option + " "))) {
                notes.add(TerminalText.safe("shepherd start: " + option + " comes after PROGRAM, so it is "
                        + typed.get(program) + "'s argument; start's own options go before PROGRAM"));
            }
        }
        return notes;
    }

    /** {@code shepherd start} and {@code words}, each quoted for a POSIX shell where it needs it. */
    private static String command(List<String> words) {
        StringBuilder line = new StringBuilder("shepherd start");
        for (String word : words) {
            line.append(' ').append(PLAIN.matcher(word).matches() ? word : "'" + word.replace("'", "'\\''") + "'");
        }
        return line.toString();
    }
}
