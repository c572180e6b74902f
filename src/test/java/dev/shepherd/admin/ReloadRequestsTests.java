package dev.shepherd.admin;

import dev.shepherd.fleet.WorkerSpecPatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReloadRequestsTests {

    private static WorkerSpecPatch read(String body) throws Exception {
        return ReloadRequests.read(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void noBodyOrAnEmptyObjectChangesNothing() throws Exception {
        assertThat(read("")).isEqualTo(WorkerSpecPatch.NONE);
        assertThat(read("  \n")).isEqualTo(WorkerSpecPatch.NONE);
        assertThat(read("{}")).isEqualTo(WorkerSpecPatch.NONE);
    }

    @Test
    void everyFieldIsReadAndANullVariableIsKeptForRemoval() throws Exception {
        WorkerSpecPatch patch = read("""
                {"command": ["node", "app-v2.js", "--port", "{port}"],
                 "environment": {"FEATURE_X": "on", "OLD_VAR": null},
                 "workingDirectory": "/srv/app-1.4", "readinessPath": "/ready"}""");

        Map<String, String> environment = new LinkedHashMap<>();
        environment.put("FEATURE_X", "on");
        environment.put("OLD_VAR", null);
        assertThat(patch).isEqualTo(new WorkerSpecPatch(List.of("node", "app-v2.js", "--port", "{port}"), environment,
                "/srv/app-1.4", "/ready"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"comand": ["node"]}                 | there is no field 'comand'; a reload takes command, environment, workingDirectory and readinessPath
            ["node"]                             | The body must be a JSON object
            {"command": "node app.js"}           | command must be a JSON array of strings
            {"command": null}                    | command must be a JSON array of strings, such as [\"node\", \"app.js\", \"--port\", \"{port}\"], not null
            {"command": ["node", 3]}             | command[1] must be a string
            {"environment": ["A=1"]}             | environment must be a JSON object
            {"environment": {"A": 1}}            | environment 'A' must be a string, or null to remove the variable
            {"environment": {"A": {"B": "c"}}}   | environment 'A' must be a string
            {"workingDirectory": 7}              | workingDirectory must be a string
            {"readinessPath": false}             | readinessPath must be a string
            {"readinessPath": null}              | readinessPath must be a string, not null (leave a field out to keep the current value)
            {"command": [                        | The body must be JSON that fits the command
            {"command": ["a"], "command": ["b"]} | The body must be JSON that fits the command, such as {\"command\": [\"node\", \"app.js\"]}: the field 'command' is given twice
            {"environment": {"A": "1", "A": null}} | The body must be JSON that fits the command
            {} {"command": ["b"]}                | The body must be JSON that fits the command
            """)
    void wrongBodyIsRefusedNamingTheField(String body, String message) {
        assertThatThrownBy(() -> read(body)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining(message.replace("\\\"", "\""));
    }

    /** Quoted back to the sender: control characters, a right-to-left override and a line separator are not. */
    @Test
    void aFieldNameIsQuotedWithoutCharactersThatRearrangeOrBreakTheLine() {
        assertThatThrownBy(() -> read("{\"a\\u001b[31mb\\nc\\u202ed\\u2028e\\tf\": 1}"))
                .isInstanceOf(InvalidRequestException.class).hasMessageStartingWith("there is no field 'a?[31mb?c?d?e?f'");
    }

    @Test
    void deepNestingIsRefusedAsInvalidJson() {
        String deep = "{\"environment\": " + "[".repeat(5000) + "]".repeat(5000) + "}";

        assertThatThrownBy(() -> read(deep)).isInstanceOf(InvalidRequestException.class)
                .hasMessageStartingWith("The body must be JSON that fits the command");
    }

    @Test
    void countsAreBoundedBeforeAnythingIsBuilt() {
        String manyArguments = "{\"command\": [" + "\"a\",".repeat(256) + "\"a\"]}";
        StringBuilder manyVariables = new StringBuilder("{\"environment\": {");
        for (int i = 0; i < 257; i++) {
            manyVariables.append(i == 0 ? "" : ",").append("\"V").append(i).append("\": \"x\"");
        }
        manyVariables.append("}}");

        assertThatThrownBy(() -> read(manyArguments)).hasMessage("command has 257 elements; at most 256");
        assertThatThrownBy(() -> read(manyVariables.toString())).hasMessage("environment has 257 variables; at most 256");
    }

    @Test
    void bodyPastOneMebibyteIsRefused() {
        String body = "{\"readinessPath\": \"/" + "a".repeat(ReloadRequests.MAX_BODY_BYTES) + "\"}";

        assertThatThrownBy(() -> read(body)).isInstanceOf(ReloadRequests.BodyTooLargeException.class)
                .hasMessage("A reload body may have at most 1048576 bytes");
    }
}
