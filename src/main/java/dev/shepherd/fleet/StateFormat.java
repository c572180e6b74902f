package dev.shepherd.fleet;

import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The JSON of {@code fleet.state-file}, format 1:
 * {@code {"format":1,"desired":8,"spec":{"command":["node","app.js"],"environment":{"K":"V"},
 * "workingDirectory":null,"readinessPath":"/health"},"savedAt":"2026-11-30T22:40:00Z"}}. Reading is strict, as
 * the file overrides the configuration: every field but {@code savedAt} is required, no other field is allowed, a
 * key may not repeat, and the values are checked as the configuration's would be.
 */
final class StateFormat {

    static final int FORMAT = 1;
    private static final Set<String> FIELDS = Set.of("format", "desired", "spec", "savedAt");
    private static final Set<String> SPEC_FIELDS = Set.of("command", "environment", "workingDirectory", "readinessPath");
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private StateFormat() {
    }

    /** What the file holds: {@code state} saved at {@code savedAt}, environment variables sorted by name. */
    static byte[] write(SavedState state, Instant savedAt) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("desired", state.desired());
        ObjectNode spec = root.putObject("spec");
        state.spec().command().forEach(spec.putArray("command")::add);
        ObjectNode environment = spec.putObject("environment");
        new TreeMap<>(state.spec().environment()).forEach(environment::put);
        Path directory = state.spec().workingDirectory();
        spec.put("workingDirectory", directory == null ? null : directory.toString());
        spec.put("readinessPath", state.spec().readinessPath());
        root.put("savedAt", savedAt.toString());
        return JSON.writeValueAsBytes(root);
    }

    /**
     * The state in {@code json}, whose desired count must be within 1 and {@code maxWorkers}.
     *
     * @throws Invalid saying what is wrong (the line for JSON that does not parse, else the field)
     */
    static SavedState read(byte[] json, int maxWorkers) throws Invalid {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException ex) {
            String message = ex.getOriginalMessage().lines().findFirst().orElse("not JSON");
            throw new Invalid(ex.getLocation() == null || ex.getLocation().getLineNr() < 1 ? message
                    : "line " + ex.getLocation().getLineNr() + ": " + message);
        }
        if (root == null || root.isMissingNode()) {
            throw new Invalid("it is empty");
        }
        requireObject(root, "the document", null);
        JsonNode format = root.get("format");
        if (format == null || !format.isIntegralNumber() || !format.canConvertToInt() || format.intValue() != FORMAT) {
            throw new Invalid("format is " + brief(format) + ", but this Shepherd reads format " + FORMAT + " only");
        }
        requireObject(root, "the document", FIELDS);
        JsonNode desired = root.get("desired");
        if (!desired.isIntegralNumber() || !desired.canConvertToInt()
                || desired.intValue() < 1 || desired.intValue() > maxWorkers) {
            throw new Invalid("desired is " + brief(desired) + ", not a whole number from 1 to " + maxWorkers
                    + " (fleet.max-workers)");
        }
        return new SavedState(desired.intValue(), spec(root.get("spec")), savedAt(root.get("savedAt")));
    }

    private static WorkerSpec spec(JsonNode spec) throws Invalid {
        requireObject(spec, "spec", SPEC_FIELDS);
        List<String> command = command(spec.get("command"));
        JsonNode environment = spec.get("environment");
        requireObject(environment, "spec.environment", null);
        Map<String, String> variables = new TreeMap<>();
        for (Map.Entry<String, JsonNode> variable : environment.properties()) {
            String name = variable.getKey();
            if (name.isEmpty() || name.contains("=") || name.contains("\0") || !variable.getValue().isString()
                    || variable.getValue().stringValue().contains("\0")) {
                throw new Invalid("spec.environment has a variable that is not a name (without = or NUL) and a string");
            }
            variables.put(name, variable.getValue().stringValue());
        }
        String readinessPath = string(spec.get("readinessPath"), "spec.readinessPath");
        if (!WorkerSpec.isProbePath(readinessPath)) {
            throw new Invalid("spec.readinessPath " + WorkerSpec.PROBE_PATH_RULE);
        }
        return new WorkerSpec(command, variables, directory(spec.get("workingDirectory")), readinessPath);
    }

    private static List<String> command(JsonNode command) throws Invalid {
        if (command == null || !command.isArray()) {
            throw new Invalid("spec.command must be an array of strings (empty: the built-in demo worker)");
        }
        List<String> arguments = new ArrayList<>();
        for (JsonNode argument : command) {
            // An empty argument is one (fleet.worker.command=node,,app has one, and a reload may send one): only the
            // program must be named, as WorkerSpecPatch checks, or the master could not read back what it wrote.
            String value = argument.isString() ? argument.stringValue() : null;
            if (value == null || value.contains("\0") || arguments.isEmpty() && value.isBlank()) {
                throw new Invalid("spec.command[" + arguments.size() + "] must be a string without NUL"
                        + (arguments.isEmpty() ? ", not blank: it names the program" : ""));
            }
            arguments.add(value);
        }
        String unknown = Placeholders.unknownIn(arguments, "spec.command").orElse(null);
        if (unknown != null) {
            throw new Invalid(unknown);
        }
        return arguments;
    }

    private static Path directory(JsonNode directory) throws Invalid {
        if (directory == null) {
            throw new Invalid("spec.workingDirectory is missing (null: the master's directory)");
        }
        if (directory.isNull()) {
            return null;
        }
        String value = string(directory, "spec.workingDirectory");
        try {
            if (!value.isEmpty()) {
                return Path.of(value);
            }
        } catch (InvalidPathException ex) {
            // Falls through to the message below.
        }
        throw new Invalid("spec.workingDirectory must be a path or null");
    }

    private static Instant savedAt(JsonNode savedAt) throws Invalid {
        if (savedAt == null) {
            return null;
        }
        try {
            return Instant.parse(string(savedAt, "savedAt"));
        } catch (DateTimeParseException ex) {
            throw new Invalid("savedAt must be an ISO-8601 instant such as 2026-11-30T22:40:00Z");
        }
    }

    private static String string(JsonNode node, String name) throws Invalid {
        if (node == null || !node.isString()) {
            throw new Invalid(name + " must be a string");
        }
        return node.stringValue();
    }

    /** {@code node} is an object with exactly {@code fields} (any field when null). */
    private static void requireObject(JsonNode node, String name, Set<String> fields) throws Invalid {
        if (node == null || !node.isObject()) {
            throw new Invalid(name + " must be a JSON object");
        }
        if (fields == null) {
            return;
        }
        for (String field : node.propertyNames()) {
            if (!fields.contains(field)) {
                throw new Invalid(name + " has the unknown field " + brief(field));
            }
        }
        for (String field : fields) {
            if (!field.equals("savedAt") && !node.has(field)) {
                throw new Invalid(name + " has no " + field);
            }
        }
    }

    /** At most 40 characters of what the file holds, as JSON: enough to recognize it in a message. */
    private static String brief(Object value) {
        String shown = String.valueOf(value instanceof String string ? JSON.writeValueAsString(string) : value);
        return shown.length() <= 40 ? shown : shown.substring(0, 40) + "…";
    }

    /** The file is not a state file this Shepherd can read; the message says why. */
    static final class Invalid extends Exception {

        Invalid(String reason) {
            super(reason, null, false, false);
        }
    }
}
