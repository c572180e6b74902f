package dev.shepherd.docker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The image's entrypoint ({@code docker/bin/shepherd-entrypoint}), run with a stand-in {@code java} on the PATH that
 * prints the environment the master would get: the image's rules without building it ({@code docker/test.sh} builds
 * and checks the image itself).
 */
class EntrypointTests {

    @TempDir
    Path directory;

    /**
     * A token file is left to the master, which follows it (a rotated Secret is in force within a second): copied into
     * {@code FLEET_ADMIN_TOKEN}, the first token stayed in force for the container's life (found by a new user).
     */
    @Test
    void aTokenFileIsLeftToTheMasterNotCopiedIntoTheToken() throws Exception {
        Path token = Files.writeString(directory.resolve("token"), "first-token\n");

        Result result = run(Map.of("FLEET_ADMIN_TOKEN_FILE", token.toString()));

        assertThat(result.exit()).as(result.output()).isZero();
        assertThat(result.output()).contains("FLEET_ADMIN_TOKEN_FILE=" + token).doesNotContain("FLEET_ADMIN_TOKEN=")
                .doesNotContain("first-token");
    }

    @Test
    void withNeitherTokenNorFileTheContainerSaysWhatToSet() throws Exception {
        Result result = run(Map.of());

        assertThat(result.exit()).isEqualTo(78);
        assertThat(result.output()).contains("FLEET_ADMIN_TOKEN is not set").contains("FLEET_ADMIN_TOKEN_FILE");
    }

    private record Result(int exit, String output) {
    }

    private Result run(Map<String, String> environment) throws IOException, InterruptedException {
        Path bin = Files.createDirectories(directory.resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\nenv | grep '^FLEET_' | sort\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder builder = new ProcessBuilder("sh", Path.of("docker/bin/shepherd-entrypoint").toAbsolutePath().toString())
                .redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("FLEET_") || name.startsWith("MANAGEMENT_"));
        builder.environment().put("PATH", bin + ":/usr/bin:/bin");
        builder.environment().putAll(environment);
        Process process = builder.start();
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
            return new Result(process.exitValue(), output);
        } finally {
            process.destroyForcibly();
        }
    }
}
