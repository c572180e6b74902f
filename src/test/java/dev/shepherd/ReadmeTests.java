package dev.shepherd;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's configuration table shows every fleet.* property the IDE metadata knows, with its default; the master
 * JVM flags it recommends are the ones the Docker image sets and the benchmarks use, and this JVM accepts them.
 */
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

    @Test
    void recommendedMasterFlagsAreTheImagesAndTheBenchmarksAndTheJvmAcceptsThem() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        Matcher command = Pattern.compile("MALLOC_ARENA_MAX=2 _JAVA_SR_SIGNUM=39 java (.+) -jar target/shepherd\\.jar").matcher(readme);
        assertThat(command.find()).as("the README's recommended master command line").isTrue();
        String flags = command.group(1);

        String dockerfile = Files.readString(Path.of("docker/Dockerfile"));
        assertThat(dockerfile).contains("JAVA_OPTS=\"" + flags + "\"").contains("MALLOC_ARENA_MAX=2", "_JAVA_SR_SIGNUM=39");
        assertThat(Files.readString(Path.of("bench/lib.sh"))).contains("SHEPHERD_RECOMMENDED_JAVA_OPTS=\"" + flags + "\"");
        assertThat(Files.readString(Path.of("systemd/shepherd.service"))).contains("ExecStart=/usr/bin/java " + flags + " -jar ")
                .contains("Environment=MALLOC_ARENA_MAX=2", "Environment=_JAVA_SR_SIGNUM=39");
        assertThat(Files.readString(Path.of("bin/shepherd"))).as("shepherd start's default")
                .contains("master_options='" + flags + "'");

        List<String> java = new ArrayList<>();
        java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        java.addAll(List.of(flags.split(" ")));
        java.add("-version");
        Process process = new ProcessBuilder(java).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
    }
}
