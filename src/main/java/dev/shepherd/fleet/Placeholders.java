package dev.shepherd.fleet;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The placeholders a worker command may hold ({@code {port}}, {@code {id}}, {@code {index}}), checked the same way
 * wherever a command comes from: the configuration ({@link LaunchSpecs}), a reload or {@code fleet.state-file}. A
 * name in braces ({@code {prot}}) is a placeholder, so a misspelt one stops the command; other braces are the
 * program's own text and pass as they are: JSON ({@code {"a":1}}), code ({@code node -e '…{…}'},
 * {@code awk '{print $1}'}), a shell's {@code ${NAME}}, {@code find}'s {@code {}} (found by an attacking helper:
 * each of those was refused, with no way around).
 */
final class Placeholders {

    /** A name in braces, not after a {@code $}: what a placeholder looks like. */
    private static final Pattern PLACEHOLDER = Pattern.compile("(?<!\\$)\\{([A-Za-z][A-Za-z0-9_-]*)}");
    private static final Set<String> KNOWN = Set.of("port", "id", "index");

    private Placeholders() {
    }

    /** What is wrong with the first unknown placeholder of {@code command}, which is called {@code name}; empty if none. */
    static Optional<String> unknownIn(List<String> command, String name) {
        for (int i = 0; i < command.size(); i++) {
            Matcher matcher = PLACEHOLDER.matcher(command.get(i));
            while (matcher.find()) {
                String placeholder = matcher.group(1);
                if (!KNOWN.contains(placeholder)) {
                    // At most 40 characters of it: the command may come from a file of up to 1 MiB.
                    String shown = (placeholder.length() <= 40 ? placeholder : placeholder.substring(0, 40) + "…")
                            .replaceAll("\\p{Cntrl}", "?");
                    return Optional.of(name + "[" + i + "] has the unknown placeholder {" + shown
                            + "}; the known ones are {port}, {id} and {index}");
                }
            }
        }
        return Optional.empty();
    }
}
