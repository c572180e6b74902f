package dev.shepherd.fleet;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reload's change to the current generation's {@link WorkerSpec}: each field null keeps the current value.
 * {@code command} replaces the whole command line; {@code environment} is merged into the current variables by the
 * rules of RFC 7396 (JSON Merge Patch): a name with a value adds or replaces that variable, a name with null removes
 * it (PM2's {@code reload --update-env} updates rather than replaces, too); {@code workingDirectory} is absolute or
 * relative to the master's directory; {@code readinessPath} is empty (a TCP connect) or starts with {@code /}.
 *
 * <p>Every field comes from a client: {@link #applyTo} checks it all, within the bounds below, before anything
 * starts, and refuses with an {@link FleetExceptions.InvalidSpecException} whose message names the field.
 */
public record WorkerSpecPatch(List<String> command, Map<String, String> environment, String workingDirectory,
                              String readinessPath) {

    /** At most this many command arguments (the program included). */
    public static final int MAX_ARGUMENTS = 256;
    /** At most this many variables in one patch. */
    public static final int MAX_VARIABLES = 256;
    /** At most this many characters in one argument, variable name or value, directory or path. */
    public static final int MAX_VALUE_CHARS = 32 * 1024;
    /** Changes nothing: a reload of the same spec. */
    public static final WorkerSpecPatch NONE = new WorkerSpecPatch(null, null, null, null);

    public WorkerSpecPatch {
        command = command == null ? null : List.copyOf(command);
        // Null values mean "remove": no Map.copyOf, which refuses them.
        environment = environment == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(environment));
    }

    /**
     * The spec of the next generation: {@code current} with this patch applied. {@code base} is the directory a
     * relative {@code workingDirectory} is taken from (the master's). Reads the file system (the directory must
     * exist); any thread.
     *
     * @throws FleetExceptions.InvalidSpecException naming the field that is wrong and what it must be
     */
    public WorkerSpec applyTo(WorkerSpec current, Path base) {
        return new WorkerSpec(command == null ? current.command() : checkedCommand(),
                environment == null ? current.environment() : mergedEnvironment(current.environment()),
                workingDirectory == null ? current.workingDirectory() : checkedDirectory(base),
                readinessPath == null ? current.readinessPath() : checkedReadinessPath());
    }

    private List<String> checkedCommand() {
        if (command.isEmpty() || command.get(0) == null || command.get(0).isBlank()) {
            throw invalid("command must be a non-empty list whose first element names the program, such as "
                    + "[\"node\", \"app.js\"]");
        }
        if (command.size() > MAX_ARGUMENTS) {
            throw invalid("command has " + command.size() + " elements; at most " + MAX_ARGUMENTS);
        }
        for (int i = 0; i < command.size(); i++) {
            checkText("command[" + i + "]", command.get(i));
        }
        Placeholders.unknownIn(command, "command").ifPresent(unknown -> {
            throw invalid(unknown);
        });
        return command;
    }

    private Map<String, String> mergedEnvironment(Map<String, String> current) {
        if (environment.size() > MAX_VARIABLES) {
            throw invalid("environment has " + environment.size() + " variables; at most " + MAX_VARIABLES);
        }
        Map<String, String> merged = new LinkedHashMap<>(current);
        environment.forEach((name, value) -> {
            // Names are logged (RELOAD_STARTED): a control character could forge a log line or reach a terminal.
            if (name.isEmpty() || name.indexOf('=') >= 0 || name.chars().anyMatch(Character::isISOControl)
                    || name.length() > MAX_VALUE_CHARS) {
                throw invalid("environment has the invalid variable name " + quote(name)
                        + ": a name must be non-empty, without '=' or control characters");
            }
            if (value == null) {
                merged.remove(name);
            } else {
                checkText("environment." + name, value);
                merged.put(name, value);
            }
        });
        return merged;
    }

    private Path checkedDirectory(Path base) {
        checkText("workingDirectory", workingDirectory);
        Path directory;
        try {
            directory = base.resolve(workingDirectory).toAbsolutePath().normalize();
        } catch (InvalidPathException ex) {
            throw invalid("workingDirectory " + quote(workingDirectory) + " is not a valid path");
        }
        if (!Files.isDirectory(directory)) {
            // The master's own directory only where it explains the answer: for a relative path (found by an
            // attacking helper: it was told for every path).
            throw invalid("workingDirectory " + quote(workingDirectory) + (Files.exists(directory)
                    ? " is not a directory" : " does not exist") + (Path.of(workingDirectory).isAbsolute() ? ""
                    : " (relative paths start at " + base + ")"));
        }
        return directory;
    }

    private String checkedReadinessPath() {
        if (readinessPath.length() > MAX_VALUE_CHARS || !WorkerSpec.isProbePath(readinessPath)) {
            throw invalid("readinessPath " + WorkerSpec.PROBE_PATH_RULE + ", not " + quote(readinessPath));
        }
        return readinessPath;
    }

    private static void checkText(String field, String value) {
        if (value.length() > MAX_VALUE_CHARS) {
            throw invalid(field + " has " + value.length() + " characters; at most " + MAX_VALUE_CHARS);
        }
        if (value.indexOf('\0') >= 0) {
            throw invalid(field + " contains a NUL character");
        }
    }

    /** At most 100 characters of what the client sent, control characters replaced. */
    private static String quote(String value) {
        String shown = value.length() > 100 ? value.substring(0, 100) + "…" : value;
        return "'" + shown.replaceAll("\\p{Cntrl}", "?") + "'";
    }

    private static FleetExceptions.InvalidSpecException invalid(String message) {
        return new FleetExceptions.InvalidSpecException(message);
    }
}
