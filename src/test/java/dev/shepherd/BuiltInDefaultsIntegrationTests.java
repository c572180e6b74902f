package dev.shepherd;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shepherd's defaults hold whatever files Spring Boot is told to read: {@code --spring.config.location} replaced the
 * jar's application.yml, and with it strict JSON on the admin API and the admin port's limits (found by an attacking
 * helper); a setting of the user's still wins over them.
 */
class BuiltInDefaultsIntegrationTests {

    @Test
    void aConfigLocationOfTheUsersKeepsTheDefaultsItDoesNotOverride(@TempDir Path directory) throws Exception {
        Path config = Files.writeString(directory.resolve("mine.yml"), """
                fleet:
                  workers: 1
                management:
                  endpoints:
                    web:
                      exposure:
                        include: health,info
                """);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--spring.config.location=" + config)) {
            assertThat(shepherd.snapshot().desired()).as("the user's file is read").isEqualTo(1);
            assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 2.9}").statusCode())
                    .as("strict JSON, a default").isEqualTo(400);
            assertThat(shepherd.admin("POST", "/fleet/scale", "{\"workers\": 1, \"workers\": 2}").statusCode()).isEqualTo(400);
            assertThat(shepherd.context().getEnvironment().getProperty("server.tomcat.max-connections")).isEqualTo("256");
            assertThat(shepherd.admin("GET", "/actuator/prometheus", null).statusCode())
                    .as("the user's exposure list wins over the default one").isEqualTo(404);
            assertThat(shepherd.admin("GET", "/actuator/info", null).statusCode()).isEqualTo(200);
        }
    }
}
