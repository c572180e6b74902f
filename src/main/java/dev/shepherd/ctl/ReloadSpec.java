package dev.shepherd.ctl;

import tools.jackson.databind.node.ObjectNode;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The body of {@code POST /fleet/reload} that {@code shepherd reload}'s options ask for: {@code command} (a list),
 * {@code environment} (an RFC 7396 merge patch on the current generation's: a value sets, {@code null} removes),
 * {@code workingDirectory} and {@code readinessPath}; a field no option names is left out, so the new generation
 * keeps the current one's value. A value that cannot be sent is an {@link IllegalArgumentException} whose message
 * names the option.
 */
final class ReloadSpec {

    private final List<String> command;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private final String workingDirectory;
    private final String readinessPath;

    ReloadSpec(String command, List<String> env, List<String> unsetEnv, String workingDirectory, String readinessPath) {
        this.command = command == null ? null : commandList(command);
        for (String assignment : env) {
            int equals = assignment.indexOf('=');
            if (equals < 1) {
                throw new IllegalArgumentException("--env wants NAME=VALUE (NAME= for an empty value), not '" + assignment + "'");
            }
            String name = assignment.substring(0, equals);
            if (environment.containsKey(name)) {
                // The API refuses a name given twice too; the last one silently won (found by a new user's attack).
                throw new IllegalArgumentException("--env names " + name + " twice: keep one");
            }
            environment.put(name, assignment.substring(equals + 1));
        }
        for (String name : unsetEnv) {
            if (name.isEmpty() || name.contains("=")) {
                throw new IllegalArgumentException("--unset-env wants a variable's NAME, not '" + name + "'");
            }
            if (environment.containsKey(name)) {
                throw new IllegalArgumentException(environment.get(name) != null
                        ? "--env and --unset-env both name " + name + ": keep one"
                        : "--unset-env names " + name + " twice: keep one");
            }
            environment.put(name, null);
        }
        if (workingDirectory != null && !Path.of(workingDirectory).isAbsolute()) {
            throw new IllegalArgumentException("--dir wants an absolute path, since the master resolves it and not this "
                    + "shell: not '" + workingDirectory + "' (e.g. --dir \"$PWD/" + workingDirectory + "\")");
        }
        if (this.command != null) {
            refuseProgramWithSpace(this.command, workingDirectory);
        }
        this.workingDirectory = workingDirectory;
        this.readinessPath = readinessPath;
    }

    /**
     * A program with a space in it ({@code --command "python3 app.py"}, PM2's {@code pm2 start "python3 app.py"}) is
     * one program of that name: the master could not start it and rolled the reload back (a new user's). Refused
     * before any request, with the list it was meant to be, unless a file of that name is there (a path with a
     * space), from {@code --dir}, else from this directory.
     */
    private static void refuseProgramWithSpace(List<String> command, String workingDirectory) {
        String program = command.get(0);
        if (program.chars().noneMatch(Character::isWhitespace)) {
            return;
        }
        try {
            if (Files.exists(Path.of(workingDirectory == null ? "" : workingDirectory).resolve(program))) {
                return;
            }
        } catch (InvalidPathException notAPath) {
            // No such file either.
        }
        List<String> meant = new ArrayList<>(List.of(program.split("\\s+")));
        meant.addAll(command.subList(1, command.size()));
        throw new IllegalArgumentException("--command is split on commas, not on spaces: '" + program + "' would be one "
                + "program of that name; give one element per argument: --command " + String.join(",", meant));
    }

    /**
     * {@code fleet.worker.command}'s comma form, split as Spring Boot binds a comma-delimited string to a
     * {@code List<String>} ({@code DelimitedStringToCollectionConverter}): on every comma, each part trimmed, no
     * escaping and no quoting, so an empty string is an empty list and {@code "a,,b"} has an empty middle argument.
     */
    static List<String> commandList(String value) {
        List<String> parts = new ArrayList<>();
        if (value.isEmpty()) {
            throw new IllegalArgumentException("--command wants PROGRAM,ARG,..., not an empty string");
        }
        int from = 0;
        for (int comma = value.indexOf(','); comma >= 0; comma = value.indexOf(',', from)) {
            parts.add(value.substring(from, comma).trim());
            from = comma + 1;
        }
        parts.add(value.substring(from).trim());
        if (parts.get(0).isEmpty()) {
            throw new IllegalArgumentException("--command wants PROGRAM,ARG,... with a program first, not '" + value + "'");
        }
        return parts;
    }

    /** True when no option named a field: then the reload is sent without a body, as the current spec. */
    boolean isEmpty() {
        return command == null && environment.isEmpty() && workingDirectory == null && readinessPath == null;
    }

    /** The JSON body, with the fields the options named, in the order of the API's documentation. */
    String toJson() {
        ObjectNode body = Json.MAPPER.createObjectNode();
        if (command != null) {
            command.forEach(body.putArray("command")::add);
        }
        if (!environment.isEmpty()) {
            ObjectNode patch = body.putObject("environment");
            environment.forEach((name, value) -> {
                if (value == null) {
                    patch.putNull(name);
                } else {
                    patch.put(name, value);
                }
            });
        }
        if (workingDirectory != null) {
            body.put("workingDirectory", workingDirectory);
        }
        if (readinessPath != null) {
            body.put("readinessPath", readinessPath);
        }
        return Json.MAPPER.writeValueAsString(body);
    }
}
