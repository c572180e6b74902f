package dev.shepherd;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's configuration table shows every fleet.* property the IDE metadata knows, with its default. */
class ReadmeTests {

    @Test
    void configurationTableListsEveryFleetPropertyWithItsDefault() throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        JsonNode metadata;
        try (InputStream in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("configuration metadata (written by spring-boot-configuration-processor)").isNotNull();
            metadata = JsonMapper.builder().build().readTree(in);
        }
        int count = 0;
        for (JsonNode property : metadata.get("properties")) {
            String name = property.get("name").asString();
            if (!name.startsWith("fleet.")) {
                continue;
            }
            count++;
            String row = readme.lines().filter(line -> line.startsWith("| `" + name + "` |")).findFirst().orElse(null);
            assertThat(row).as("README row for " + name).isNotNull();
            JsonNode defaultValue = property.get("defaultValue");
            if (defaultValue != null && defaultValue.isValueNode() && !name.equals("fleet.proxy.event-loops")) {
                assertThat(row).as("default of " + name).contains("`" + defaultValue.asString() + "`");
            }
        }
        assertThat(count).isGreaterThan(30);
    }
}
