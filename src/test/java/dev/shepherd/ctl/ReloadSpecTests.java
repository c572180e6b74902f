package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.core.convert.TypeDescriptor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

/** The body of {@code POST /fleet/reload} built from {@code shepherd reload}'s options, without a server. */
class ReloadSpecTests {

    private static ReloadSpec spec(String command, List<String> env, List<String> unset, String dir, String readiness) {
        return new ReloadSpec(command, env, unset, dir, readiness);
    }

    @Test
    void noOptionMeansNoBody() {
        assertThat(spec(null, List.of(), List.of(), null, null).isEmpty()).isTrue();
    }

    @Test
    void everyOptionBecomesItsFieldWithNullForAnUnsetVariable() {
        ReloadSpec reload = spec("node, app-v2.js", List.of("K=V", "EMPTY=", "URL=a=b"), List.of("GONE"), "/srv/app-1.4", "/ready");

        assertThat(reload.isEmpty()).isFalse();
        assertThat(reload.toJson()).isEqualTo("{\"command\":[\"node\",\"app-v2.js\"],"
                + "\"environment\":{\"K\":\"V\",\"EMPTY\":\"\",\"URL\":\"a=b\",\"GONE\":null},"
                + "\"workingDirectory\":\"/srv/app-1.4\",\"readinessPath\":\"/ready\"}");
    }

    @Test
    void onlyTheNamedFieldsAreSent() {
        assertThat(spec(null, List.of("APP_VERSION=1.4"), List.of(), null, null).toJson())
                .isEqualTo("{\"environment\":{\"APP_VERSION\":\"1.4\"}}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"node,app.js", " node , app.js ", "sh,-c,echo a b", "a,,b", "a,", "java,-jar,app.jar,--x=\"1,2\"",
            "a\\,b,c", "single"})
    void commandSplitsAsSpringBootBindsFleetWorkerCommand(String value) {
        Object spring = ApplicationConversionService.getSharedInstance().convert(value, TypeDescriptor.valueOf(String.class),
                TypeDescriptor.collection(List.class, TypeDescriptor.valueOf(String.class)));

        assertThat(ReloadSpec.commandList(value)).isEqualTo(spring);
    }

    @Test
    void commandWithoutAProgramIsRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> ReloadSpec.commandList("")).withMessageContaining("--command");
        assertThatIllegalArgumentException().isThrownBy(() -> ReloadSpec.commandList(" ,app.js")).withMessageContaining("--command");
    }

    @Test
    void envWithoutEqualsOrNameIsRefusedNamingTheOption() {
        assertThatIllegalArgumentException().isThrownBy(() -> spec(null, List.of("K"), List.of(), null, null))
                .withMessage("--env wants NAME=VALUE (NAME= for an empty value), not 'K'");
        assertThatIllegalArgumentException().isThrownBy(() -> spec(null, List.of("=V"), List.of(), null, null))
                .withMessageContaining("--env");
    }

    @Test
    void settingAndUnsettingOneVariableIsRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> spec(null, List.of("K=V"), List.of("K"), null, null))
                .withMessage("--env and --unset-env both name K: keep one");
    }

    /** Found by a new user's attack (2026-12-04): the last value silently won, where the API refuses a name twice. */
    @Test
    void oneVariableNamedTwiceIsRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> spec(null, List.of("A=1", "A=2"), List.of(), null, null))
                .withMessage("--env names A twice: keep one");
        assertThatIllegalArgumentException().isThrownBy(() -> spec(null, List.of(), List.of("A", "A"), null, null))
                .withMessage("--unset-env names A twice: keep one");
    }

    @Test
    void relativeDirectoryIsRefusedSinceTheMasterWouldResolveIt() {
        assertThatIllegalArgumentException().isThrownBy(() -> spec(null, List.of(), List.of(), "app-1.4", null))
                .withMessageStartingWith("--dir wants an absolute path");
    }

    /**
     * "python3 app.py" as one program was sent, could not start, and the reload was rolled back (a new user's): the
     * list it was meant to be is said instead. A file of that name, a path with a space, is a program.
     */
    @Test
    void aProgramWithASpaceIsRefusedWithTheListItWasMeantToBeUnlessItIsAFile(@TempDir Path directory) throws Exception {
        assertThatIllegalArgumentException().isThrownBy(() -> spec("python3 app.py,--port, {port}", List.of(), List.of(),
                        null, null))
                .withMessage("--command is split on commas, not on spaces: 'python3 app.py' would be one program of "
                        + "that name; give one element per argument: --command python3,app.py,--port,{port}");
        Path program = Files.createFile(directory.resolve("my app"));

        assertThat(spec(program.toString() + ",x", List.of(), List.of(), null, null).toJson())
                .contains("\"command\":[\"" + program + "\",\"x\"]");
        assertThat(spec("my app", List.of(), List.of(), directory.toString(), null).toJson())
                .as("from --dir, where the workers run").contains("\"command\":[\"my app\"]");
        assertThat(spec("sh,-c,exit 3", List.of(), List.of(), null, null).toJson())
                .as("an argument may hold a space").contains("\"exit 3\"");
    }
}
