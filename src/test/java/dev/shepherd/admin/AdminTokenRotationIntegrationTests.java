package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A running master follows its {@code fleet.admin.token-file}: a rotated file (swapped, as Kubernetes swaps a mounted
 * Secret) puts its token in force within seconds, without a restart, and the old one is refused.
 */
class AdminTokenRotationIntegrationTests {

    @TempDir
    Path directory;

    @Test
    void aRotatedTokenFileTakesEffectWithoutARestart() throws Exception {
        Path file = Files.writeString(directory.resolve("admin-token"), "before-rotation\n");
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.admin.token-file=" + file)) {
            assertThat(status(shepherd, "before-rotation")).isEqualTo(200);
            assertThat(status(shepherd, "after-rotation")).isEqualTo(401);

            Files.move(Files.writeString(directory.resolve("admin-token.new"), "after-rotation\n"), file,
                    StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> status(shepherd, "after-rotation") == 200);
            assertThat(status(shepherd, "before-rotation")).isEqualTo(401);
        }
    }

    private static int status(RunningShepherd shepherd, String token) {
        return shepherd.admin("GET", "/fleet", null, Map.of("Authorization", "Bearer " + token)).statusCode();
    }
}
