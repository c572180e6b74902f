package dev.shepherd;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One of the options that {@link OptionsAfterProgram} looks for after PROGRAM, as it was typed: start's own, or PM2's
 * alone, with the words it took ({@code -i 4}, {@code -i4}, {@code --instances=4}) and its value, null when it has
 * none.
 */
record TypedOption(String name, Kind kind, List<String> words, String value) {

    /** What the corrected command does with the option. */
    enum Kind {
        /** start's, with its value: it goes before PROGRAM. */
        START,
        /** start's, without the value it needs: left out, and told. */
        NO_VALUE,
        /** PM2's alone ({@code --name}, {@code -e FILE}): left out, with a hint. */
        PM2,
        /** PM2's {@code --interpreter X}: X goes before the script. */
        INTERPRETER
    }

    /**
     * start's options that PM2 users write after the script, each with its value. {@code -p} and {@code --port} are
     * the program's when their value holds {@code {port}}: a worker needs its own port, and one fixed port after the
     * program is PM2's habit for the proxy's (a new user's {@code pm2 start app.js -i 4 -p 3000} bound 8080 unsaid).
     */
    static final List<String> OWN = List.of("-i", "--instances", "-p", "--port", "-e", "--env",
            "--max-memory-restart", "--admin-port", "--cwd", "--set");
    /** PM2's options that start has not, with whether each takes a value; their hints are {@link StartHabits}. */
    static final Map<String, Boolean> PM2_ONLY = Map.of("--name", true, "-n", true, "--interpreter", true,
            "--no-daemon", false);
    /**
     * start's short options as picocli takes them with the value attached ({@code -i4}), by the values start takes:
     * after a script, {@code -init} or {@code -p{port}} is the script's own word.
     */
    private static final Map<String, Pattern> ATTACHED = Map.of("-i", Pattern.compile("-?\\d+|(?i)max"),
            "-p", Pattern.compile("\\d+"), "-e", Pattern.compile("[A-Za-z_][A-Za-z0-9_]*=.*"));
    private static final List<String> PORTS = List.of("-p", "--port");
    /** start's {@code -e NAME=VALUE}; PM2's {@code -e FILE} is its error log, its {@code --env NAME} an environment's. */
    private static final List<String> ENV = List.of("-e", "--env");

    /**
     * The options of {@code names} that {@code word} is, as picocli reads start's: {@code -i}, {@code -i=4}, {@code
     * -i4} (an attached value only as start takes it), {@code --instances=4}; null when it is none of them.
     */
    static String name(String word, List<String> names) {
        if (word.startsWith("--")) {
            String name = word.contains("=") ? word.substring(0, word.indexOf('=')) : word;
            return names.contains(name) ? name : null;
        }
        if (!word.startsWith("-") || word.length() < 2 || !names.contains(word.substring(0, 2))) {
            return null;
        }
        String name = word.substring(0, 2);
        boolean attached = word.length() > 2 && word.charAt(2) != '=';
        return !attached || ATTACHED.containsKey(name) && ATTACHED.get(name).matcher(word.substring(2)).matches()
                ? name : null;
    }

    /** start's options and PM2's alone, the names this looks for. */
    static List<String> lookedFor() {
        List<String> names = new ArrayList<>(OWN);
        names.addAll(PM2_ONLY.keySet());
        return names;
    }

    /**
     * The options looked for in {@code after} (the words after PROGRAM) before its first {@code --}, each with its
     * value; the other words, and from the {@code --} on every word, are {@code left}.
     */
    record Scan(List<TypedOption> options, List<String> left) {
    }

    static Scan scan(List<String> after) {
        List<String> names = lookedFor();
        Scan scan = new Scan(new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < after.size(); i++) {
            String word = after.get(i);
            if (word.equals("--")) {
                scan.left().addAll(after.subList(i, after.size()));
                break;
            }
            String name = name(word, names);
            String inline = name == null || word.equals(name) ? null : word.substring(name.length()
                    + (word.charAt(name.length()) == '=' ? 1 : 0));
            String next = i + 1 < after.size() && !after.get(i + 1).equals("--")
                    && name(after.get(i + 1), names) == null ? after.get(i + 1) : null;
            String value = inline != null ? inline : next;
            if (name == null || PORTS.contains(name) && value != null && value.contains("{port}")) {
                scan.left().add(word);
                continue;
            }
            boolean takesValue = OWN.contains(name) || PM2_ONLY.get(name);
            List<String> words = new ArrayList<>(List.of(word));
            if (inline == null && takesValue && next != null) {
                words.add(after.get(++i));
            }
            value = takesValue ? value : null;
            scan.options().add(new TypedOption(name, kind(name, value), words, value));
        }
        return scan;
    }

    private static Kind kind(String name, String value) {
        if (name.equals("--interpreter")) {
            return value == null ? Kind.PM2 : Kind.INTERPRETER;
        } else if (!OWN.contains(name) || ENV.contains(name) && value != null && !value.contains("=")) {
            return Kind.PM2;
        }
        return value == null ? Kind.NO_VALUE : Kind.START;
    }

    /** Whether this is {@code -p} or {@code --port} with a fixed value, the proxy's port once before PROGRAM. */
    boolean isPort() {
        return kind == Kind.START && PORTS.contains(name);
    }
}
