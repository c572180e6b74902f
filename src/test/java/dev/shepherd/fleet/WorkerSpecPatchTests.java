package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class WorkerSpecPatchTests {

    private static final WorkerSpec CURRENT = new WorkerSpec(List.of("node", "app.js"),
            Map.of("KEEP", "1", "CHANGE", "old", "DROP", "x"), null, "/health");

    @TempDir
    static Path base;

    private static Map<String, String> env(String... pairs) {
        Map<String, String> map = new HashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], pairs[i + 1]);
        }
        return map;
    }

    static Stream<Arguments> patches() {
        return Stream.of(
                arguments("no field keeps everything", WorkerSpecPatch.NONE, CURRENT),
                arguments("command replaces the whole command", new WorkerSpecPatch(List.of("node", "v2.js", "{port}"), null, null, null),
                        new WorkerSpec(List.of("node", "v2.js", "{port}"), CURRENT.environment(), null, "/health")),
                arguments("environment is merged: add, replace, null removes, the rest kept",
                        new WorkerSpecPatch(null, env("NEW", "n", "CHANGE", "new", "DROP", null, "ABSENT", null), null, null),
                        new WorkerSpec(CURRENT.command(), Map.of("KEEP", "1", "CHANGE", "new", "NEW", "n"), null, "/health")),
                arguments("empty environment changes nothing", new WorkerSpecPatch(null, Map.of(), null, null), CURRENT),
                arguments("readiness path empty is a TCP connect", new WorkerSpecPatch(null, null, null, ""),
                        new WorkerSpec(CURRENT.command(), CURRENT.environment(), null, "")),
                arguments("readiness path replaced", new WorkerSpecPatch(null, null, null, "/ready?full=1"),
                        new WorkerSpec(CURRENT.command(), CURRENT.environment(), null, "/ready?full=1")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("patches")
    void patchIsAppliedToTheCurrentSpec(String name, WorkerSpecPatch patch, WorkerSpec expected) {
        assertThat(patch.applyTo(CURRENT, base)).isEqualTo(expected);
    }

    @Test
    void relativeDirectoryIsTakenFromTheMastersDirectoryAndMustExist() throws IOException {
        Files.createDirectories(base.resolve("app-1.4"));

        WorkerSpec spec = new WorkerSpecPatch(null, null, "app-1.4", null).applyTo(CURRENT, base);

        assertThat(spec.workingDirectory()).isEqualTo(base.resolve("app-1.4").toAbsolutePath());
        assertThat(new WorkerSpecPatch(null, null, base.resolve("app-1.4").toString(), null).applyTo(CURRENT, Path.of("/"))
                .workingDirectory()).isEqualTo(spec.workingDirectory());
    }

    static Stream<Arguments> invalid() throws IOException {
        Path file = Files.writeString(base.resolve("a-file"), "x");
        String[] tooMany = IntStream.range(0, 257).mapToObj(i -> "a").toArray(String[]::new);
        Map<String, String> manyVariables = new HashMap<>();
        IntStream.range(0, 257).forEach(i -> manyVariables.put("V" + i, "x"));
        return Stream.of(
                arguments(new WorkerSpecPatch(List.of(), null, null, null), "command must be a non-empty list"),
                arguments(new WorkerSpecPatch(List.of(" ", "app.js"), null, null, null), "command must be a non-empty list"),
                arguments(new WorkerSpecPatch(List.of("node", "app.js", "{foo}"), null, null, null),
                        "command[2] has the unknown placeholder {foo}; the known ones are {port}, {id} and {index}"),
                arguments(new WorkerSpecPatch(Arrays.asList(tooMany), null, null, null), "command has 257 elements; at most 256"),
                arguments(new WorkerSpecPatch(List.of("node", "a\0b"), null, null, null), "command[1] contains a NUL character"),
                arguments(new WorkerSpecPatch(List.of("node", "x".repeat(32 * 1024 + 1)), null, null, null),
                        "command[1] has 32769 characters; at most 32768"),
                arguments(new WorkerSpecPatch(null, env("", "x"), null, null), "environment has the invalid variable name ''"),
                arguments(new WorkerSpecPatch(null, env("A=B", "x"), null, null), "environment has the invalid variable name 'A=B'"),
                arguments(new WorkerSpecPatch(null, env("A\0B", "x"), null, null), "environment has the invalid variable name 'A?B'"),
                // A name is logged in the RELOAD_STARTED line: a line break in it would forge log lines.
                arguments(new WorkerSpecPatch(null, env("A\n12:00:00.000  WARN forged", "x"), null, null),
                        "environment has the invalid variable name 'A?12:00:00.000  WARN forged': a name must be non-empty, "
                                + "without '=' or control characters"),
                arguments(new WorkerSpecPatch(null, env("A\u001b[2J", "x"), null, null), "environment has the invalid variable name 'A?[2J'"),
                arguments(new WorkerSpecPatch(null, env("A", "x\0y"), null, null), "environment.A contains a NUL character"),
                arguments(new WorkerSpecPatch(null, env("A", "x".repeat(32 * 1024 + 1)), null, null),
                        "environment.A has 32769 characters; at most 32768"),
                arguments(new WorkerSpecPatch(null, manyVariables, null, null), "environment has 257 variables; at most 256"),
                arguments(new WorkerSpecPatch(null, null, "no-such-dir", null), "workingDirectory 'no-such-dir' does not exist"),
                arguments(new WorkerSpecPatch(null, null, file.toString(), null), "is not a directory"),
                arguments(new WorkerSpecPatch(null, null, null, "ready"), "readinessPath must be empty (a TCP connect) or a path "
                        + "that starts with '/'"),
                arguments(new WorkerSpecPatch(null, null, null, "/a b"), "readinessPath must be empty"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("invalid")
    void invalidPatchIsRefusedNamingTheField(WorkerSpecPatch patch, String message) {
        assertThatThrownBy(() -> patch.applyTo(CURRENT, base)).isInstanceOf(FleetExceptions.InvalidSpecException.class)
                .hasMessageContaining(message);
    }

    @Test
    void nullValuesSurviveThePatchSoThatTheyCanRemove() {
        assertThat(new WorkerSpecPatch(null, Collections.singletonMap("DROP", null), null, null).environment())
                .containsEntry("DROP", null);
    }

    @Test
    void changesAreDescribedByNameOnly() {
        WorkerSpec next = new WorkerSpec(List.of("node", "v2.js"), Map.of("KEEP", "1", "CHANGE", "s3cret", "NEW", "n"),
                base, "/ready");

        assertThat(next.changesFrom(CURRENT))
                .isEqualTo("command, environment: ~CHANGE -DROP +NEW, workingDirectory, readinessPath");
        assertThat(CURRENT.changesFrom(CURRENT)).isEqualTo("nothing");
    }

    @Test
    void aChangeNamesAtMost20VariablesEachCutAt64Characters() {
        Map<String, String> many = new java.util.TreeMap<>();
        for (int i = 0; i < 31; i++) {
            many.put(String.format("V%02d", i) + "x".repeat(32 * 1024), "1");
        }
        WorkerSpec next = new WorkerSpec(CURRENT.command(), many, CURRENT.workingDirectory(), CURRENT.readinessPath());

        String changes = next.changesFrom(new WorkerSpec(CURRENT.command(), Map.of(), CURRENT.workingDirectory(),
                CURRENT.readinessPath()));

        assertThat(changes).startsWith("environment: +V00" + "x".repeat(61) + "… +V01").endsWith(" and 11 more")
                .hasSizeLessThan(20 * 70 + 20);
    }
}
