package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What {@link WorkerProcess#checkExecutable} says before a launch that could not run the worker's program. */
class WorkerProcessTests {

    @TempDir
    Path temp;

    @Test
    void aMissingWorkingDirectoryIsNamedNotTheShell() {
        Path missing = temp.resolve("missing");
        assertThatThrownBy(() -> WorkerProcess.checkExecutable(new LaunchSpec(List.of("/bin/sh", "-c", "true"), missing,
                Map.of()))).isInstanceOf(IOException.class)
                .hasMessage("the working directory " + missing + " does not exist or is not a directory");
    }

    @Test
    void aWorkingDirectoryThatIsAFileIsNamed() throws IOException {
        Path file = Files.createFile(temp.resolve("file"));
        assertThatThrownBy(() -> WorkerProcess.checkExecutable(new LaunchSpec(List.of("/bin/sh"), file, Map.of())))
                .hasMessageContaining("the working directory " + file);
    }

    @Test
    void aMissingProgramIsNamed() {
        assertThatThrownBy(() -> WorkerProcess.checkExecutable(new LaunchSpec(List.of("./no-such-program"), temp,
                Map.of()))).hasMessage("Cannot run program \"./no-such-program\": No such file or directory");
    }

    /** Found by a new user's attack: "python3 server.py" as one string was retried for ever, saying nothing more. */
    @Test
    void aMissingProgramWithASpaceIsToldTheCommandIsAList() {
        assertThatThrownBy(() -> WorkerProcess.checkExecutable(new LaunchSpec(List.of("python3 server.py"), temp,
                Map.of()))).hasMessage("Cannot run program \"python3 server.py\": No such file or directory (the command "
                + "is a list, one element per argument: python3,app.py on the command line, a YAML list in a file; one "
                + "string with spaces is one program's name)");
    }

    @Test
    void anExistingDirectoryAndProgramPass() {
        assertThatCode(() -> WorkerProcess.checkExecutable(new LaunchSpec(List.of("/bin/sh"), temp, Map.of())))
                .doesNotThrowAnyException();
    }
}
