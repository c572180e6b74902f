package dev.shepherd;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code shepherd start}'s own options typed after PROGRAM, as PM2 takes them anywhere ({@code pm2 start app.js -i
 * max}, its most common line): refused, with the command corrected both ways, unless a {@code --} before PROGRAM, or
 * one after it before them, leaves them to the program. Passed to the program with a note, {@code -i 1} ran a fleet
 * of one worker per CPU (found by an attacking helper, then by a new user who read past the note among the startup
 * logs). {@code --port {port}} is the program's (no worker can take one fixed port), {@code --watch} only gets a
 * note ({@link #notes}), so that {@code start node app.js --port {port}} and {@code start node --watch app.js} run
 * as typed; a program's other options stay its own ({@code start node --inspect app.js}).
 */
final class OptionsAfterProgram {

    /**
     * start's options that PM2 users write after the script, each with its value. {@code -p} and {@code --port} are
     * the program's when their value holds {@code {port}}: a worker needs its own port, and one fixed port after the
     * program is PM2's habit for the proxy's (a new user's {@code pm2 start app.js -i 4 -p 3000} bound 8080 unsaid).
     */
    private static final List<String> OWN = List.of("-i", "--instances", "-p", "--port", "--max-memory-restart",
            "--admin-port", "--cwd", "--set");
    /** PM2's options that start has not, with whether each takes a value; their hints are {@link StartCommand#HABITS}. */
    private static final Map<String, Boolean> PM2_ONLY = Map.of("--name", true, "--no-daemon", false);
    /** Options that programs take too ({@code node --watch}): after PROGRAM, a note says whose they are. */
    private static final List<String> NOTED = List.of("--watch");
    private static final List<String> PORTS = List.of("-p", "--port");
    /** A word the shell passes on as it is, without quotes (no braces: {@code {a,b}} is expanded). */
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_@%+=:,./-]+");

    private OptionsAfterProgram() {
    }

    /**
     * The lines that refuse {@code typed} (start's words, PROGRAM at {@code program}), or none when no option of
     * start's, nor of PM2's alone, comes after PROGRAM before a {@code --}.
     */
    static List<String> refusal(List<String> typed, int program) {
        List<String> after = typed.subList(program + 1, typed.size());
        Found found = find(after);
        if (found.options().isEmpty()) {
            return List.of();
        }
        List<String> before = typed.subList(0, program);
        String name = typed.get(program);
        List<String> forStart = new ArrayList<>(before);
        forStart.addAll(found.moved());
        forStart.add(name);
        forStart.addAll(found.left());
        // A -- before PROGRAM: every word after it is the program's, as typed.
        List<String> forProgram = new ArrayList<>(before);
        forProgram.add("--");
        forProgram.add(name);
        forProgram.addAll(after);
        int many = found.options().size();
        List<String> lines = new ArrayList<>();
        lines.add("shepherd start: " + joined(found.options()) + " after PROGRAM would be " + name + "'s argument"
                + (many > 1 ? "s" : "") + "; start takes its options before PROGRAM (PM2 takes them anywhere):");
        lines.add("  " + command(forStart));
        lines.add("or, to give " + (many > 1 ? "them" : "it") + " to " + name + ", with -- before PROGRAM:");
        lines.add("  " + command(forProgram));
        lines.addAll(found.hints());
        return lines.stream().map(TerminalText::safe).toList();
    }

    /**
     * What {@code after} (the words after PROGRAM) holds before its first {@code --}: the options looked for, by name
     * ({@code options}), each once; start's with their values ({@code moved}); the other words, and from the
     * {@code --} on every word ({@code left}); the hints for PM2's alone; the index of the first option found.
     */
    private record Found(List<String> options, List<String> moved, List<String> left, List<String> hints, int first) {
    }

    private static Found find(List<String> after) {
        Found found = new Found(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), -1);
        int first = -1;
        for (int i = 0; i < after.size(); i++) {
            String word = after.get(i);
            String option = word.contains("=") ? word.substring(0, word.indexOf('=')) : word;
            String value = word.contains("=") ? word.substring(word.indexOf('=') + 1)
                    : i + 1 < after.size() ? after.get(i + 1) : "";
            if (word.equals("--")) {
                found.left().addAll(after.subList(i, after.size()));
                break;
            } else if (!OWN.contains(option) && !PM2_ONLY.containsKey(option)
                    || PORTS.contains(option) && value.contains("{port}")) {
                found.left().add(word);
                continue;
            }
            first = first < 0 ? i : first;
            boolean own = OWN.contains(option);
            List<String> words = new ArrayList<>(List.of(word));
            if (!word.contains("=") && (own || PM2_ONLY.get(option)) && i + 1 < after.size()
                    && !after.get(i + 1).equals("--")) {
                words.add(after.get(++i));
            }
            if (!found.options().contains(option)) {
                found.options().add(option);
            }
            if (own) {
                found.moved().addAll(words);
            } else if (!found.hints().contains(StartCommand.HABITS.get(option))) {
                found.hints().add(StartCommand.HABITS.get(option));
            }
        }
        return new Found(found.options(), found.moved(), found.left(), found.hints(), first);
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
        List<String> notes = new ArrayList<>();
        for (String word : typed.subList(program + 1, typed.size())) {
            if (word.equals("--")) {
                break;
            }
            String option = word.contains("=") ? word.substring(0, word.indexOf('=')) : word;
            boolean looked = NOTED.contains(option) || all && (OWN.contains(option) || PM2_ONLY.containsKey(option));
            if (looked && notes.stream().noneMatch(note -> note.startsWith("shepherd start: " + option + " "))) {
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
