package dev.shepherd;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code shepherd start}'s own options typed after PROGRAM, as PM2 takes them anywhere ({@code pm2 start app.js -i
 * max}, its most common line): refused, with the command corrected both ways, unless a {@code --} puts them in the
 * program's hands, as PM2's {@code pm2 start app.js -- -i 1} does. Passed to the program with a note, {@code -i 1}
 * ran a fleet of one worker per CPU (found by an attacking helper, then by a new user who read past the note among
 * the startup logs). Only options that PM2 users type are looked for, so that a program's other options stay its own
 * ({@code start node --inspect app.js}).
 */
final class OptionsAfterProgram {

    /** start's options that PM2 users write after the script, each with its value. */
    private static final List<String> OWN = List.of("-i", "--instances", "-p", "--port", "--max-memory-restart",
            "--admin-port", "--cwd", "--set");
    /** PM2's options that start has not, with whether each takes a value; their hints are {@link StartCommand#HABITS}. */
    private static final Map<String, Boolean> PM2_ONLY = Map.of("--name", true, "--watch", false, "--no-daemon", false);
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
        // The -- where the first of them was: what came before it stays where it was typed.
        List<String> forProgram = new ArrayList<>(before);
        forProgram.add(name);
        forProgram.addAll(after.subList(0, found.first()));
        forProgram.add("--");
        forProgram.addAll(withoutFirstSeparator(after.subList(found.first(), after.size())));
        int many = found.options().size();
        List<String> lines = new ArrayList<>();
        lines.add("shepherd start: " + joined(found.options()) + " after PROGRAM would be " + name + "'s argument"
                + (many > 1 ? "s" : "") + "; start takes its options before PROGRAM (PM2 takes them anywhere):");
        lines.add("  " + command(forStart));
        lines.add("or, to give " + (many > 1 ? "them" : "it") + " to " + name + ", after -- (as PM2 does):");
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
            if (word.equals("--")) {
                found.left().addAll(after.subList(i, after.size()));
                break;
            } else if (!OWN.contains(option) && !PM2_ONLY.containsKey(option)) {
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

    /** {@code words} without their first {@code --}, which start takes: what follows it is the program's as typed. */
    static List<String> withoutFirstSeparator(List<String> words) {
        List<String> without = new ArrayList<>(words);
        without.remove("--");
        return without;
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
