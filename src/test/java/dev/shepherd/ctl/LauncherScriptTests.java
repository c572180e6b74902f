package dev.shepherd.ctl;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/shepherd}, the launcher script, with a stand-in for {@code java} that prints what it was given: which
 * Java it runs and which jar, from any directory, whatever HOME is.
 */
class LauncherScriptTests {

    @TempDir
    Path dir;

    private Path script;
    private Path fakeJavaHome;

    @BeforeEach
    void layOut() throws IOException {
        // A copy of a release's layout: bin/shepherd and target/shepherd.jar beside it.
        script = Files.createDirectories(dir.resolve("dist/bin")).resolve("shepherd");
        Files.copy(Path.of("bin/shepherd"), script);
        Files.writeString(Files.createDirectories(dir.resolve("dist/target")).resolve("shepherd.jar"), "not really a jar");
        fakeJavaHome = dir.resolve("jdk");
        Path java = Files.createDirectories(fakeJavaHome.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho \"fake java: $*\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwx------"));
    }

    private String run(Map<String, String> env) throws Exception {
        return run(env, "ls");
    }

    private String run(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("sh", script.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(Path.of("/").toFile())
                .redirectErrorStream(true);
        builder.environment().remove("JAVA_HOME");
        builder.environment().remove("JAVA");
        builder.environment().remove("SHEPHERD_JAR");
        builder.environment().putAll(env);
        Process process = builder.start();
        try {
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            return new String(process.getInputStream().readAllBytes());
        } finally {
            process.destroyForcibly();
        }
    }

    @Test
    void javaHomeIsTheJavaThatRunsAsInMavenWrapperAndGradlew() throws Exception {
        String out = run(Map.of("JAVA_HOME", fakeJavaHome.toString(), "SHEPHERD_CTL_CACHE", "off"));

        assertThat(out).startsWith("fake java: ").endsWith(" -jar " + script.getParent().resolve("../target/shepherd.jar") + " ctl ls\n");
    }

    @Test
    void theJarBesideTheScriptIsFoundFromAnotherDirectoryWithAReadOnlyHome() throws Exception {
        Path home = Files.createDirectory(dir.resolve("home"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("r-x------"));

        String out = run(Map.of("JAVA", fakeJavaHome.resolve("bin/java").toString(), "HOME", home.toString()));

        assertThat(out).startsWith("fake java: ").endsWith(" -jar " + script.getParent().resolve("../target/shepherd.jar") + " ctl ls\n");
    }

    @Test
    void aJarInTheParentDirectoryIsFoundAsTheSystemdUnitInstallsIt() throws Exception {
        // /opt/shepherd/bin/shepherd beside /opt/shepherd/shepherd.jar (systemd/shepherd.service, ExecReload).
        Files.writeString(dir.resolve("dist/shepherd.jar"), "not really a jar");

        String out = run(Map.of("JAVA", fakeJavaHome.resolve("bin/java").toString(), "SHEPHERD_CTL_CACHE", "off"));

        assertThat(out).startsWith("fake java: ").endsWith(" -jar " + script.getParent().resolve("../shepherd.jar") + " ctl ls\n");
    }

    /** Found by an attacking helper: the systemd unit's reload went to 127.0.0.1 whatever address the admin port had. */
    @Test
    void theMastersAdminAddressAndTlsMakeTheUrl() throws Exception {
        Path java = fakeJavaHome.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\necho \"url=$SHEPHERD_ADMIN_URL\"\n");
        Map<String, String> base = Map.of("JAVA", java.toString(), "SHEPHERD_CTL_CACHE", "off", "MANAGEMENT_SERVER_PORT", "9001");

        assertThat(run(base)).isEqualTo("url=http://127.0.0.1:9001\n");
        assertThat(run(with(base, "MANAGEMENT_SERVER_ADDRESS", "10.0.0.5"))).isEqualTo("url=http://10.0.0.5:9001\n");
        assertThat(run(with(base, "MANAGEMENT_SERVER_ADDRESS", "0.0.0.0"))).isEqualTo("url=http://127.0.0.1:9001\n");
        assertThat(run(with(base, "MANAGEMENT_SERVER_ADDRESS", "::1"))).isEqualTo("url=http://[::1]:9001\n");
        assertThat(run(with(base, "MANAGEMENT_SERVER_SSL_BUNDLE", "admin"))).isEqualTo("url=https://127.0.0.1:9001\n");
        assertThat(run(with(base, "SHEPHERD_ADMIN_URL", "http://h:1"))).isEqualTo("url=http://h:1\n");
    }

    @Test
    void aSymbolicLinkToTheScriptFindsTheJarBesideTheScriptItself() throws Exception {
        Path link = Files.createDirectories(dir.resolve("usr/local/bin")).resolve("shepherd");
        Files.createSymbolicLink(link, script);
        Process process = new ProcessBuilder("sh", "-c", "JAVA=" + fakeJavaHome.resolve("bin/java") + " SHEPHERD_CTL_CACHE=off "
                + "SHEPHERD_JAR= " + link + " ls").redirectErrorStream(true).start();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();

        assertThat(new String(process.getInputStream().readAllBytes())).startsWith("fake java: ")
                .endsWith(" -jar " + script.getParent().resolve("../target/shepherd.jar") + " ctl ls\n");
    }

    /**
     * {@code start} runs the master itself: the README's master flags (or JAVA_OPTS), MALLOC_ARENA_MAX=2,
     * _JAVA_SR_SIGNUM=39 (SIGUSR2 left to the master), the jar
     * without {@code ctl}, and none of the admin client's variables, which its workers would inherit.
     */
    @Test
    void startRunsTheMasterWithItsFlagsAndWithoutTheClientsVariables() throws Exception {
        Path java = fakeJavaHome.resolve("bin/java");
        Files.writeString(java, "#!/bin/sh\necho \"args: $*\"\necho \"arena=$MALLOC_ARENA_MAX sr=$_JAVA_SR_SIGNUM url=${SHEPHERD_ADMIN_URL:-none}"
                + " token=${SHEPHERD_ADMIN_TOKEN:-none}\"\n");
        Map<String, String> env = Map.of("JAVA", java.toString(), "MANAGEMENT_SERVER_PORT", "9001",
                "FLEET_ADMIN_TOKEN", "s3cret");

        String out = run(env, "start", "-i", "2", "node", "app.js");

        assertThat(out).contains("-Xmx128m -Xss512k", "-XX:+ExitOnOutOfMemoryError", " -jar "
                        + script.getParent().resolve("../target/shepherd.jar") + " start -i 2 node app.js\n",
                "arena=2 sr=39 url=none token=none").doesNotContain(" ctl ", "TieredStopAtLevel");
        assertThat(run(with(env, "JAVA_OPTS", "-Xmx1g"), "start", "app")).contains("args: -Xmx1g -jar ")
                .as("the user's options, a misspelt one told").doesNotContain("-Xmx128m", "IgnoreUnrecognizedVMOptions");
        assertThat(run(with(env, "JAVA_OPTS", ""), "start", "app")).as("empty, as unset").contains("-Xmx128m");
    }

    /** The admin client's help knew no start: "Unknown subcommand 'start'", exit code 0 (a new user's find). */
    @Test
    void helpStartIsStartsOwnHelp() throws Exception {
        Path java = fakeJavaHome.resolve("bin/java");
        Map<String, String> env = Map.of("JAVA", java.toString());

        assertThat(run(env, "help", "start")).endsWith(" -jar " + script.getParent().resolve("../target/shepherd.jar")
                + " start --help\n");
        assertThat(run(env, "help", "ls")).contains(" ctl help ls");
    }

    private static Map<String, String> with(Map<String, String> base, String name, String value) {
        Map<String, String> all = new java.util.HashMap<>(base);
        all.put(name, value);
        return all;
    }
}
