package dev.shepherd.admin;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import static org.assertj.core.api.Assertions.assertThat;

/** The schema check the admin API's document is held to finds what it is meant to find. */
class ApiDocumentTests {

    private static final ApiDocument DOCUMENT = ApiDocument.parse("""
            {"components": {"schemas": {
              "Exit": {"type": "object", "properties": {"code": {"type": "integer"}}},
              "Worker": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "integer"},
                "startedAt": {"type": ["string", "null"]},
                "state": {"type": "string", "enum": ["READY", "FAILED"]},
                "lastExit": {"anyOf": [{"$ref": "#/components/schemas/Exit"}, {"type": "null"}]},
                "wrongExit": {"type": "null", "$ref": "#/components/schemas/Exit"},
                "environment": {"type": "object", "additionalProperties": {"type": "string"}},
                "lines": {"type": "array", "items": {"type": "string"}}}}}}}
            """);
    private static final JsonNode WORKER = DOCUMENT.component("Worker");

    @Test
    void aValueThatFitsHasNoMismatch() {
        assertThat(DOCUMENT.mismatches(WORKER, json("""
                {"id": 1, "startedAt": null, "state": "READY", "lastExit": null, "environment": {"A": "b"}, "lines": ["x"]}
                """))).isEmpty();
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"lastExit\": {\"code\": 137}}"))).isEmpty();
    }

    @Test
    void eachKindOfMisfitIsFound() {
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": null}"))).containsExactly("/id: null null where the schema says [integer]");
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"extra\": true}"))).containsExactly("/extra: not declared");
        assertThat(DOCUMENT.mismatches(WORKER, json("{}"))).containsExactly("/id: required, missing");
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"state\": \"GONE\"}"))).hasSize(1);
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"environment\": {\"A\": null}}"))).hasSize(1);
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"lines\": [1]}"))).hasSize(1);
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"lastExit\": {\"code\": \"x\"}}"))).hasSize(1);
        assertThat(DOCUMENT.mismatches(WORKER, json("{\"id\": 1, \"wrongExit\": null}")))
                .as("swagger-core's nullable reference matches no null").hasSize(1);
    }

    private static JsonNode json(String text) {
        return ApiDocument.parse(text).root();
    }
}
