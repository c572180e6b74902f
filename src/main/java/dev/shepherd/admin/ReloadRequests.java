package dev.shepherd.admin;

import dev.shepherd.fleet.WorkerSpecPatch;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the optional body of {@code POST /fleet/reload} into a {@link WorkerSpecPatch}: a JSON object with the
 * optional fields {@code command} (an array of strings), {@code environment} (an object of strings or nulls),
 * {@code workingDirectory} and {@code readinessPath} (strings). No body, or {@code {}}, changes nothing. The body is
 * read up to {@link #MAX_BODY_BYTES}; the types and the counts are checked here, the values by
 * {@link WorkerSpecPatch#applyTo}. Every refusal is an {@link InvalidRequestException} naming the field, or a
 * {@link BodyTooLargeException}. Any request thread.
 */
final class ReloadRequests {

    /**
     * A reload body is read up to this many bytes, a longer one refused with 413: the admin port's limit for every
     * command body, which {@link BodyBudget} enforces from the declared length before the body gets here; read to
     * it all the same, so that this reader is bounded whoever calls it.
     */
    static final int MAX_BODY_BYTES = BodyBudget.MAX_BODY_BYTES;

    private static final Set<String> FIELDS = Set.of("command", "environment", "workingDirectory", "readinessPath");
    /** Refuses a name twice in one object: which one wins differs between parsers (RFC 8259 §4), so neither does. */
    private static final JsonMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private ReloadRequests() {
    }

    static WorkerSpecPatch read(InputStream body) throws IOException {
        byte[] bytes = body.readNBytes(MAX_BODY_BYTES + 1);
        if (bytes.length > MAX_BODY_BYTES) {
            throw new BodyTooLargeException("A reload body may have at most " + MAX_BODY_BYTES + " bytes");
        }
        if (new String(bytes, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            return WorkerSpecPatch.NONE;
        }
        JsonNode tree;
        try {
            tree = JSON.readTree(bytes);
        } catch (JacksonException ex) {
            throw new InvalidRequestException("The body must be JSON that fits the command, such as {\"command\": [\"node\", \"app.js\"]}: "
                    + BodyErrors.describe(ex));
        }
        return parse(tree);
    }

    static WorkerSpecPatch parse(JsonNode body) {
        if (body == null || body.isMissingNode()) {
            return WorkerSpecPatch.NONE;
        }
        if (!body.isObject()) {
            throw invalid("The body must be a JSON object, such as {\"command\": [\"node\", \"app.js\"]}");
        }
        for (String name : body.propertyNames()) {
            if (!FIELDS.contains(name)) {
                throw invalid("there is no field " + Problems.quote(name)
                        + "; a reload takes command, environment, workingDirectory and readinessPath");
            }
        }
        return new WorkerSpecPatch(command(body.get("command")), environment(body.get("environment")),
                string("workingDirectory", body.get("workingDirectory")), string("readinessPath", body.get("readinessPath")));
    }

    private static List<String> command(JsonNode node) {
        if (node == null) {
            return null;
        }
        if (!node.isArray()) {
            throw invalid("command must be a JSON array of strings, such as [\"node\", \"app.js\", \"--port\", \"{port}\"]"
                    + notNull(node));
        }
        if (node.size() > WorkerSpecPatch.MAX_ARGUMENTS) {
            throw invalid("command has " + node.size() + " elements; at most " + WorkerSpecPatch.MAX_ARGUMENTS);
        }
        List<String> command = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            if (!node.get(i).isString()) {
                throw invalid("command[" + i + "] must be a string");
            }
            command.add(node.get(i).stringValue());
        }
        return command;
    }

    private static Map<String, String> environment(JsonNode node) {
        if (node == null) {
            return null;
        }
        if (!node.isObject()) {
            throw invalid("environment must be a JSON object of variable names to strings (null removes a variable), "
                    + "such as {\"FEATURE_X\": \"on\", \"OLD_VAR\": null}" + notNull(node));
        }
        if (node.size() > WorkerSpecPatch.MAX_VARIABLES) {
            throw invalid("environment has " + node.size() + " variables; at most " + WorkerSpecPatch.MAX_VARIABLES);
        }
        Map<String, String> environment = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> variable : node.properties()) {
            JsonNode value = variable.getValue();
            if (!value.isString() && !value.isNull()) {
                throw invalid("environment " + Problems.quote(variable.getKey())
                        + " must be a string, or null to remove the variable");
            }
            environment.put(variable.getKey(), value.isNull() ? null : value.stringValue());
        }
        return environment;
    }

    private static String string(String field, JsonNode node) {
        if (node == null) {
            return null;
        }
        if (!node.isString()) {
            throw invalid(field + " must be a string" + notNull(node));
        }
        return node.stringValue();
    }

    private static String notNull(JsonNode node) {
        return node.isNull() ? ", not null (leave a field out to keep the current value)" : "";
    }

    private static InvalidRequestException invalid(String detail) {
        return new InvalidRequestException(detail);
    }

    /** A body past {@link #MAX_BODY_BYTES}: 413. */
    static final class BodyTooLargeException extends RuntimeException {
        BodyTooLargeException(String message) {
            super(message);
        }
    }
}
