package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AdminTargetTests {

    @Test
    void withNothingSetTheDefaultAdminPortOnLoopbackWithoutToken() {
        AdminTarget target = AdminTarget.resolve(null, null, Map.of());

        assertThat(target.url()).hasToString("http://127.0.0.1:8081");
        assertThat(target.token()).isNull();
    }

    @Test
    void optionsWinOverTheEnvironment() {
        AdminTarget target = AdminTarget.resolve("http://10.0.0.5:9000/", "from-option",
                Map.of("SHEPHERD_ADMIN_URL", "http://other:1", "SHEPHERD_ADMIN_TOKEN", "from-env"));

        assertThat(target.url()).hasToString("http://10.0.0.5:9000");
        assertThat(target.token()).isEqualTo("from-option");
    }

    @Test
    void environmentGivesUrlAndTokenWhenNoOptionDoes() {
        AdminTarget target = AdminTarget.resolve(null, null,
                Map.of("SHEPHERD_ADMIN_URL", "localhost:9001", "SHEPHERD_ADMIN_TOKEN", "from-env"));

        assertThat(target.url()).hasToString("http://localhost:9001");
        assertThat(target.token()).isEqualTo("from-env");
    }

    @Test
    void tokenFileIsReadAndItsLineEndDropped(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("token"), "\uFEFFs3cret\n");

        AdminTarget target = AdminTarget.resolve(null, null, Map.of("SHEPHERD_ADMIN_TOKEN_FILE", file.toString()));

        assertThat(target.token()).isEqualTo("s3cret");
    }

    /** A token with a line break inside is refused in words that do not quote it (it was printed as a bad URL). */
    @Test
    void aTokenOfMoreThanOneLineIsRefusedWithoutQuotingIt(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("token"), "secret\nsecond line\n");

        assertThatThrownBy(() -> AdminTarget.resolve(null, null, Map.of("SHEPHERD_ADMIN_TOKEN_FILE", file.toString())))
                .isInstanceOf(CtlException.class).hasMessageStartingWith("the token from the token file ")
                .hasMessageContaining("holds a line break").hasMessageNotContaining("secret");
        assertThatThrownBy(() -> AdminTarget.resolve(null, "abc\tdef", Map.of()))
                .isInstanceOf(CtlException.class).hasMessageStartingWith("the token from --token holds")
                .hasMessageNotContaining("abc");
    }

    @Test
    void tokenVariableWinsOverTokenFile(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("token"), "from-file");

        AdminTarget target = AdminTarget.resolve(null, null,
                Map.of("SHEPHERD_ADMIN_TOKEN", "from-env", "SHEPHERD_ADMIN_TOKEN_FILE", file.toString()));

        assertThat(target.token()).isEqualTo("from-env");
    }

    @Test
    void missingTokenFileIsOneLineNamingFileAndVariable(@TempDir Path dir) {
        String missing = dir.resolve("absent").toString();

        assertThatThrownBy(() -> AdminTarget.resolve(null, null, Map.of("SHEPHERD_ADMIN_TOKEN_FILE", missing)))
                .isInstanceOfSatisfying(CtlException.class, ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.USAGE))
                .hasMessage("cannot read the token file " + missing + " named by SHEPHERD_ADMIN_TOKEN_FILE: check the path and its permissions");
    }

    @Test
    void emptyTokenFileIsRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("token"), " \n");

        assertThatThrownBy(() -> AdminTarget.resolve(null, null, Map.of("SHEPHERD_ADMIN_TOKEN_FILE", file.toString())))
                .isInstanceOfSatisfying(CtlException.class, ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.USAGE))
                .hasMessageContaining("is empty");
    }

    /** Found by an attacking helper (2026-12-04): the error named only SHEPHERD_ADMIN_URL, which nobody had set. */
    @Test
    void anUnusableUrlMadeFromManagementServerPortNamesThatVariable() {
        Map<String, String> env = Map.of("MANAGEMENT_SERVER_PORT", "abc", "SHEPHERD_ADMIN_URL", "http://127.0.0.1:abc");

        assertThatThrownBy(() -> AdminTarget.resolve(null, null, env))
                .hasMessage("the admin URL 'http://127.0.0.1:abc' (from MANAGEMENT_SERVER_PORT, of which bin/shepherd "
                        + "made SHEPHERD_ADMIN_URL) is not usable: give one such as http://127.0.0.1:8081 with --admin "
                        + "or SHEPHERD_ADMIN_URL");
    }

    /** Without a scheme the URL is host:port; a bare word is a mistyped URL, not a host on port 80. */
    @Test
    void aUrlWithoutSchemeNeedsAPort() {
        assertThat(AdminTarget.resolve("127.0.0.1:9001", null, Map.of()).url()).hasToString("http://127.0.0.1:9001");
        assertThat(AdminTarget.resolve("http://admin.internal", null, Map.of()).url()).hasToString("http://admin.internal");
        assertThatThrownBy(() -> AdminTarget.resolve("foo", null, Map.of()))
                .isInstanceOfSatisfying(CtlException.class, ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.USAGE))
                .hasMessage("the admin URL 'foo' is not usable: give one such as http://127.0.0.1:8081 with --admin or SHEPHERD_ADMIN_URL");
    }

    /** A port past 65535 was the JDK's IllegalArgumentException, exit 1 (found by a new user). */
    @Test
    void aPortPast65535IsAnUnusableUrl() {
        for (String given : new String[] {"127.0.0.1:99999", "http://127.0.0.1:65536"}) {
            assertThatThrownBy(() -> AdminTarget.resolve(given, null, Map.of()))
                    .isInstanceOfSatisfying(CtlException.class, ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.USAGE))
                    .hasMessageStartingWith("the admin URL '" + given + "' is not usable");
        }
        assertThat(AdminTarget.resolve("127.0.0.1:65535", null, Map.of()).url().getPort()).isEqualTo(65535);
    }

    @Test
    void unusableUrlIsAUsageErrorThatSaysWhatToGive() {
        assertThatThrownBy(() -> AdminTarget.resolve("ftp://host:21", null, Map.of()))
                .isInstanceOfSatisfying(CtlException.class, ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.USAGE))
                .hasMessage("the admin URL 'ftp://host:21' is not usable: give one such as http://127.0.0.1:8081 with --admin or SHEPHERD_ADMIN_URL");
    }

    /**
     * Found by a new user: --admin http://127.0.0.1:8081/x asked for /x/fleet, and a master with a token said it wanted
     * one. The path is refused naming the setting, with the URL to give instead.
     */
    @Test
    void aUrlWithAPathIsAUsageErrorShowingTheUrlWithout() {
        assertThatThrownBy(() -> AdminTarget.resolve("http://127.0.0.1:8081/x", null, Map.of()))
                .isInstanceOfSatisfying(CtlException.class, ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.USAGE))
                .hasMessage("the admin URL 'http://127.0.0.1:8081/x' has a path, /x, which the admin API does not take "
                        + "(its paths are its own: /fleet, /actuator): give --admin http://127.0.0.1:8081");
        assertThatThrownBy(() -> AdminTarget.resolve(null, null, Map.of("SHEPHERD_ADMIN_URL", "https://admin.internal/fleet/")))
                .as("from the variable, a trailing slash dropped")
                .hasMessage("the admin URL 'https://admin.internal/fleet/' has a path, /fleet, which the admin API does "
                        + "not take (its paths are its own: /fleet, /actuator): give SHEPHERD_ADMIN_URL=https://admin.internal");
        assertThatThrownBy(() -> AdminTarget.resolve("127.0.0.1:9001/shepherd/api", null, Map.of()))
                .as("without a scheme, corrected without one")
                .hasMessageEndingWith("has a path, /shepherd/api, which the admin API does not take (its paths are its "
                        + "own: /fleet, /actuator): give --admin 127.0.0.1:9001");
        assertThat(AdminTarget.resolve("http://127.0.0.1:9001///", null, Map.of()).url())
                .as("slashes alone are no path").hasToString("http://127.0.0.1:9001");
    }
}
