package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** fleet.state-file on disk: what is written, how, and every way a file is refused, leaving it as it was. */
class StateFileTests {

    private static final Instant SAVED = Instant.parse("2026-11-30T22:40:00Z");
    private static final WorkerSpec SPEC = new WorkerSpec(List.of("node", "app.js", "--port={port}"),
            Map.of("API_TOKEN", "s3cret", "NODE_ENV", "production"), Path.of("/srv/app-1.4"), "/ready");

    @TempDir
    Path dir;

    @Test
    void aWrittenStateReadsBackTheSame() throws IOException {
        StateFile file = new StateFile(dir.resolve("state.json"));
        file.write(new SavedState(8, SPEC, null), SAVED);

        assertThat(file.read(64)).contains(new SavedState(8, SPEC, SAVED));
    }

    /**
     * Found by a new user's attack: null (the master's directory) was saved as it was, so a master started from
     * another directory ran the README's relative commands where they are not, and every restored worker crashed.
     */
    @Test
    void theMastersDirectoryIsSavedAbsoluteSoAMasterStartedElsewhereRunsTheWorkersWhereTheyRan() throws IOException {
        WorkerSpec demo = new WorkerSpec(List.of(), Map.of(), null, "");
        StateFile file = new StateFile(dir.resolve("state.json"));
        file.write(new SavedState(1, demo, null), SAVED);

        Path here = Path.of("").toAbsolutePath();
        assertThat(Files.readString(dir.resolve("state.json"))).contains("\"workingDirectory\" : \"" + here + "\"");
        assertThat(file.read(64)).hasValueSatisfying(state -> assertThat(state.spec().workingDirectory()).isEqualTo(here));
    }

    @Test
    void aFileWrittenWithNullForTheDirectoryStillReadsAsTheMastersDirectory() throws IOException {
        Files.writeString(dir.resolve("state.json"), "{\"format\": 1, \"desired\": 1, \"spec\": {\"command\": [], "
                + "\"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"\"}}");

        assertThat(new StateFile(dir.resolve("state.json")).read(64)).hasValueSatisfying(state ->
                assertThat(state.spec().workingDirectory()).isEqualTo(Path.of("").toAbsolutePath()));
    }

    @Test
    void theFileIsVersionedJsonWithTheEnvironmentSortedByName() throws IOException {
        new StateFile(dir.resolve("state.json")).write(new SavedState(8, SPEC, null), SAVED);

        String json = Files.readString(dir.resolve("state.json"));
        assertThat(json.replaceAll("\\s", "")).isEqualTo("{\"format\":1,\"desired\":8,\"spec\":{\"command\":[\"node\","
                + "\"app.js\",\"--port={port}\"],\"environment\":{\"API_TOKEN\":\"s3cret\",\"NODE_ENV\":\"production\"},"
                + "\"workingDirectory\":\"/srv/app-1.4\",\"readinessPath\":\"/ready\"},\"savedAt\":\"2026-11-30T22:40:00Z\"}");
    }

    @Test
    void aWriteReplacesTheFileAndLeavesNoTemporaryFileBehind() throws IOException {
        StateFile file = new StateFile(dir.resolve("state.json"));
        file.write(new SavedState(2, SPEC, null), SAVED);
        file.write(new SavedState(3, SPEC, null), SAVED.plusSeconds(1));

        try (var files = Files.list(dir)) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).containsExactly("state.json");
        }
        assertThat(file.read(64)).hasValueSatisfying(state -> assertThat(state.desired()).isEqualTo(3));
    }

    @Test
    void aStateFileThatIsASymbolicLinkIsWrittenThroughAndStaysALink() throws IOException {
        // Say the link is in the container's own file system and its target on a volume that survives it.
        Path volume = Files.createDirectory(dir.resolve("volume"));
        Path target = volume.resolve("state.json");
        new StateFile(target).write(new SavedState(2, SPEC, null), SAVED);
        Path link = Files.createSymbolicLink(Files.createDirectory(dir.resolve("etc")).resolve("state.json"), target);

        new StateFile(link).write(new SavedState(5, SPEC, null), SAVED.plusSeconds(1));

        assertThat(Files.isSymbolicLink(link)).isTrue();
        assertThat(new StateFile(target).read(64)).hasValueSatisfying(state -> assertThat(state.desired()).isEqualTo(5));
        try (var files = Files.list(volume)) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).containsExactly("state.json");
        }
        try (var files = Files.list(link.getParent())) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).containsExactly("state.json");
        }
    }

    @Test
    void theFileIsReadableByItsOwnerOnlyEvenWhenItWasOpenBefore() throws IOException {
        Path path = dir.resolve("state.json");
        Files.writeString(path, "{}");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));

        new StateFile(path).write(new SavedState(2, SPEC, null), SAVED);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path))).isEqualTo("rw-------");
    }

    @Test
    void aWriteThatCannotRenameLeavesTheOldFileAndNoTemporaryOne() throws IOException {
        Path path = dir.resolve("state.json");
        new StateFile(path).write(new SavedState(2, SPEC, null), SAVED);
        byte[] before = Files.readAllBytes(path);
        Path blocked = dir.resolve("blocked.json");
        Files.createDirectory(blocked);
        Files.writeString(blocked.resolve("inside"), "x");

        assertThatThrownBy(() -> new StateFile(blocked).write(new SavedState(3, SPEC, null), SAVED))
                .isInstanceOf(IOException.class);

        try (var files = Files.list(dir)) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).containsExactlyInAnyOrder("state.json", "blocked.json");
        }
        assertThat(Files.readAllBytes(path)).isEqualTo(before);
    }

    @Test
    void anEmptyArgumentAfterTheProgramReadsBackTheSame() throws IOException {
        // A reload may send ["node", "app.js", "--title", ""], and fleet.worker.command=node,,app.js has one too.
        WorkerSpec spec = new WorkerSpec(List.of("node", "app.js", "--title", ""), Map.of(), null, "");
        StateFile file = new StateFile(dir.resolve("state.json"));

        file.write(new SavedState(2, spec, null), SAVED);

        assertThat(file.read(64)).contains(new SavedState(2, spec, SAVED));
    }

    @Test
    void aMissingFileIsNoStateYet() {
        assertThat(new StateFile(dir.resolve("state.json")).read(64)).isEmpty();
    }

    @Test
    void aMissingDirectoryIsRefusedNamingThePropertyAndTheDirectory() throws IOException {
        Path path = dir.resolve("missing").resolve("state.json");

        assertThatThrownBy(() -> new StateFile(path).read(64)).isInstanceOf(StateFileException.class)
                .hasMessage("fleet.state-file " + path + " is in " + dir.resolve("missing") + ", which does not exist");
        assertThat(dir.resolve("missing")).doesNotExist();
        Path aFile = Files.createFile(dir.resolve("a-file"));
        assertThatThrownBy(() -> new StateFile(aFile.resolve("state.json")).read(64))
                .hasMessage("fleet.state-file " + aFile.resolve("state.json") + " is in " + aFile + ", which is not a "
                        + "directory");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "not JSON                | x                                                                     | line 1: Unrecognized token 'x'",
            "empty                   | ``                                                                    | it is empty",
            "an array                | [1, 2]                                                                | the document must be a JSON object",
            "unknown format          | {\"format\": 2, \"desired\": 3}                                        | format is 2, but this Shepherd reads format 1 only",
            "no format               | {\"desired\": 3}                                                       | format is null, but this Shepherd reads format 1 only",
            "no spec                 | {\"format\": 1, \"desired\": 3}                                        | the document has no spec",
            "unknown field           | @{\"format\": 1, \"desired\": 3, \"workers\": 3, \"spec\": SPEC}       | the document has the unknown field \"workers\"",
            "desired zero            | @{\"format\": 1, \"desired\": 0, \"spec\": SPEC}                       | desired is 0, not a whole number from 1 to 64 (fleet.max-workers)",
            "desired above max       | @{\"format\": 1, \"desired\": 65, \"spec\": SPEC}                      | desired is 65, not a whole number from 1 to 64 (fleet.max-workers)",
            "desired a string        | @{\"format\": 1, \"desired\": \"3\", \"spec\": SPEC}                   | desired is \"3\", not a whole number",
            "desired a fraction      | @{\"format\": 1, \"desired\": 2.5, \"spec\": SPEC}                     | desired is 2.5, not a whole number",
            "duplicate key           | @{\"format\": 1, \"desired\": 3, \"desired\": 4, \"spec\": SPEC}       | line 1: Duplicate Object property \"desired\"",
            "trailing garbage        | @{\"format\": 1, \"desired\": 3, \"spec\": SPEC} {}                    | Trailing token",
            "empty program           | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [\" \", \"app.js\"], \"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"\"}} | spec.command[0] must be a string without NUL, not blank: it names the program",
            "argument a number       | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [\"node\", 3], \"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"\"}} | spec.command[1] must be a string without NUL",
            "unknown placeholder     | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [\"node\", \"--port={prot}\"], \"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"\"}} | spec.command[1] has the unknown placeholder {prot}; the known ones are {port}, {id} and {index}",
            "command a string        | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": \"node app.js\", \"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"\"}} | spec.command must be an array of strings",
            "environment value       | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [], \"environment\": {\"A\": 1}, \"workingDirectory\": null, \"readinessPath\": \"\"}} | spec.environment has a variable that is not a name (without = or NUL) and a string",
            "environment name with = | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [], \"environment\": {\"A=B\": \"1\"}, \"workingDirectory\": null, \"readinessPath\": \"\"}} | spec.environment has a variable that is not a name",
            "no working directory    | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [], \"environment\": {}, \"readinessPath\": \"\"}} | spec has no workingDirectory",
            "readiness path no path  | {\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [], \"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"health\"}} | spec.readinessPath must be empty (a TCP connect) or a path that starts with '/'",
            "bad savedAt             | @{\"format\": 1, \"desired\": 3, \"spec\": SPEC, \"savedAt\": \"yesterday\"} | savedAt must be an ISO-8601 instant",
    })
    void aFileThatIsNoStateFileStopsStartupNamingItAndThePropertyAndStaysAsItWas(String name, String content,
                                                                                 String reason) throws IOException {
        Path path = dir.resolve("state.json");
        byte[] bytes = content.replace("@", "").replace("SPEC", "{\"command\": [\"node\"], \"environment\": {}, "
                + "\"workingDirectory\": null, \"readinessPath\": \"/health\"}").getBytes(StandardCharsets.UTF_8);
        Files.write(path, bytes);

        assertThatThrownBy(() -> new StateFile(path).read(64)).isInstanceOf(StateFileException.class)
                .hasMessageStartingWith("fleet.state-file " + path + " is not a Shepherd state file (")
                .hasMessageContaining(reason)
                .hasMessageEndingWith("): fix or delete it");

        assertThat(Files.readAllBytes(path)).isEqualTo(bytes);
        try (var files = Files.list(dir)) {
            assertThat(files.map(Path::getFileName).map(Path::toString)).containsExactly("state.json");
        }
    }

    @Test
    void aLongUnknownPlaceholderIsShownCut() throws IOException {
        Path path = dir.resolve("state.json");
        Files.writeString(path, "{\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [\"{" + "p".repeat(100_000)
                + "}\"], \"environment\": {}, \"workingDirectory\": null, \"readinessPath\": \"\"}}");

        assertThatThrownBy(() -> new StateFile(path).read(64)).isInstanceOf(StateFileException.class)
                .hasMessageContaining("spec.command[0] has the unknown placeholder {" + "p".repeat(40) + "…}")
                .satisfies(ex -> assertThat(ex.getMessage()).hasSizeLessThan(300 + path.toString().length()));
    }

    @Test
    void aValidHandWrittenFileWithoutSavedAtIsRead() throws IOException {
        Path path = dir.resolve("state.json");
        Files.writeString(path, "{\"format\": 1, \"desired\": 3, \"spec\": {\"command\": [\"node\", \"{port}\"], "
                + "\"environment\": {\"A\": \"1\"}, \"workingDirectory\": \"/srv\", \"readinessPath\": \"\"}}");

        assertThat(new StateFile(path).read(64)).contains(new SavedState(3,
                new WorkerSpec(List.of("node", "{port}"), Map.of("A", "1"), Path.of("/srv"), ""), null));
    }

    @Test
    void aFileLargerThanOneMebibyteIsRefusedUnread() throws IOException {
        Path path = dir.resolve("state.json");
        byte[] big = new byte[StateFile.MAX_BYTES + 1];
        Arrays.fill(big, (byte) ' ');
        Files.write(path, big);

        assertThatThrownBy(() -> new StateFile(path).read(64)).isInstanceOf(StateFileException.class)
                .hasMessage("fleet.state-file " + path + " is not a Shepherd state file (it is larger than 1024 KiB, "
                        + "the most one may hold): fix or delete it");
        assertThat(Files.size(path)).isEqualTo(StateFile.MAX_BYTES + 1);
    }

    @Test
    void aFileOfExactlyOneMebibyteIsRead() throws IOException {
        Path path = dir.resolve("state.json");
        new StateFile(path).write(new SavedState(2, SPEC, null), SAVED);
        byte[] json = Files.readAllBytes(path);
        byte[] padded = Arrays.copyOf(json, StateFile.MAX_BYTES);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        Files.write(path, padded);

        assertThat(new StateFile(path).read(64)).contains(new SavedState(2, SPEC, SAVED));
    }

    @Test
    void aDirectoryIsRefusedAsUnreadable() throws IOException {
        Path path = Files.createDirectory(dir.resolve("state.json"));

        assertThatThrownBy(() -> new StateFile(path).read(64)).isInstanceOf(StateFileException.class)
                .hasMessage("fleet.state-file " + path + " cannot be read: it is a directory");
        assertThat(path).isEmptyDirectory();
    }

    @Test
    void aFileTheMasterMayNotReadIsRefusedAndLeftAsItWas() throws IOException {
        assumeThat(System.getProperty("user.name")).as("root reads any file").isNotEqualTo("root");
        Path path = dir.resolve("state.json");
        new StateFile(path).write(new SavedState(2, SPEC, null), SAVED);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("-w-------"));

        assertThatThrownBy(() -> new StateFile(path).read(64)).isInstanceOf(StateFileException.class)
                .hasMessage("fleet.state-file " + path + " cannot be read (permission denied)");
    }
}
