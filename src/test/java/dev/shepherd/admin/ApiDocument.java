package dev.shepherd.admin;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The admin API's OpenAPI document ({@code /v3/api-docs}) as a test reads it: its operations, the statuses each
 * lists, and whether a JSON value matches one of its schemas.
 */
record ApiDocument(JsonNode root) {

    static ApiDocument parse(String json) {
        return new ApiDocument(JsonMapper.builder().build().readTree(json));
    }

    /** The operation of {@code method} (lower case) on {@code path} as the document spells it, such as /fleet/workers/{id}. */
    JsonNode operation(String path, String method) {
        return root.path("paths").path(path).path(method);
    }

    /** The statuses the operation lists, such as 202 and 400. */
    Set<String> statuses(String path, String method) {
        return new HashSet<>(operation(path, method).path("responses").propertyNames());
    }

    /** The schema of {@code status}'s {@code mediaType} content, a missing node when the operation lists none. */
    JsonNode responseSchema(String path, String method, String status, String mediaType) {
        return operation(path, method).path("responses").path(status).path("content").path(mediaType).path("schema");
    }

    /** A component schema, such as Problem. */
    JsonNode component(String name) {
        return root.path("components").path("schemas").path(name);
    }

    /**
     * Where {@code value} does not match {@code schema}, one line each with its JSON pointer; empty when it matches.
     * Knows the keywords of JSON Schema 2020-12 that the document uses: {@code $ref}, {@code anyOf}, {@code type}
     * (one or several, {@code null} among them), {@code enum}, {@code properties}, {@code required},
     * {@code additionalProperties} and {@code items}. Stricter than JSON Schema in one way: a member of an object
     * that its schema does not declare (in {@code properties} or by {@code additionalProperties}) is a mismatch,
     * since the document means to name every member a client gets.
     */
    List<String> mismatches(JsonNode schema, JsonNode value) {
        List<String> found = new ArrayList<>();
        check(schema, value, "", found);
        return found;
    }

    private void check(JsonNode schema, JsonNode value, String at, List<String> found) {
        if (schema.isMissingNode()) {
            found.add(at + ": no schema");
            return;
        }
        if (schema.has("$ref")) {
            String ref = schema.get("$ref").asString();
            JsonNode target = root.at(ref.startsWith("#") ? ref.substring(1) : "/no-such-member");
            if (target.isMissingNode()) {
                found.add(at + ": " + ref + " is not in the document");
                return;
            }
            check(target, value, at, found);
            return;
        }
        if (schema.has("anyOf")) {
            for (JsonNode option : schema.get("anyOf")) {
                if (mismatches(option, value).isEmpty()) {
                    return;
                }
            }
            found.add(at + ": " + value + " matches none of " + schema.get("anyOf"));
            return;
        }
        String type = typeOf(value);
        if (schema.has("type")) {
            Set<String> types = new HashSet<>();
            if (schema.get("type").isArray()) {
                schema.get("type").forEach(item -> types.add(item.asString()));
            } else {
                types.add(schema.get("type").asString());
            }
            if (!types.contains(type) && !(type.equals("integer") && types.contains("number"))) {
                found.add(at + ": " + type + " " + value + " where the schema says " + types);
                return;
            }
        }
        if (schema.has("enum") && !contains(schema.get("enum"), value)) {
            found.add(at + ": " + value + " is not one of " + schema.get("enum"));
        }
        if (value.isObject() && (schema.has("properties") || schema.has("additionalProperties"))) {
            JsonNode properties = schema.path("properties");
            JsonNode additional = schema.path("additionalProperties");
            for (Map.Entry<String, JsonNode> member : value.properties()) {
                JsonNode declared = properties.has(member.getKey()) ? properties.get(member.getKey()) : additional;
                if (declared.isMissingNode() || declared.isBoolean()) {
                    if (!declared.asBoolean(false)) {
                        found.add(at + "/" + member.getKey() + ": not declared");
                    }
                } else {
                    check(declared, member.getValue(), at + "/" + member.getKey(), found);
                }
            }
            for (JsonNode required : schema.path("required")) {
                if (!value.has(required.asString())) {
                    found.add(at + "/" + required.asString() + ": required, missing");
                }
            }
        }
        if (value.isArray() && schema.has("items")) {
            int index = 0;
            for (JsonNode item : value) {
                check(schema.get("items"), item, at + "/" + index++, found);
            }
        }
    }

    private static boolean contains(JsonNode values, JsonNode value) {
        for (JsonNode candidate : values) {
            if (candidate.equals(value)) {
                return true;
            }
        }
        return false;
    }

    private static String typeOf(JsonNode value) {
        if (value.isNull()) {
            return "null";
        }
        if (value.isBoolean()) {
            return "boolean";
        }
        if (value.isIntegralNumber()) {
            return "integer";
        }
        if (value.isNumber()) {
            return "number";
        }
        if (value.isString()) {
            return "string";
        }
        return value.isArray() ? "array" : "object";
    }
}
