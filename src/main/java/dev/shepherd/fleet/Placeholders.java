package dev.shepherd.fleet;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The placeholders a worker command may hold ({@code {port}}, {@code {id}}, {@code {index}}), checked the same way
 * wherever a command comes from: the configuration ({@link LaunchSpecs}) or {@code fleet.state-file}.
 */
final class Placeholders {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^}]*)}");
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
