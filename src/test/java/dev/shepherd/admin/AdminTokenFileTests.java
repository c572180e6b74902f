package dev.shepherd.admin;

import dev.shepherd.InvalidSetting;
import dev.shepherd.fleet.FleetProperties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.security.authentication.BadCredentialsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code fleet.admin.token-file} ({@code FLEET_ADMIN_TOKEN_FILE}): the master reads the token from a file, as its
 * Docker entrypoint did alone before (an operator who set it on the jar got an admin API without a token).
 */
class AdminTokenFileTests {

    @TempDir
    Path directory;

    /** A token in the master's arguments is every local user's to read (an attacking helper's worker read it). */
    @Test
    void aTokenWrittenInTheCommandLineIsSeen() throws IOException {
        Path cmdline = Files.write(directory.resolve("cmdline"),
                "java\0-jar\0shepherd.jar\0--fleet.admin.token=s3cret-token\0".getBytes(java.nio.charset.StandardCharsets.UTF_8));

        assertThat(AdminSecurity.inProcessList("s3cret-token", cmdline)).isTrue();
        assertThat(AdminSecurity.inProcessList("other-token", cmdline)).isFalse();
        assertThat(AdminSecurity.inProcessList(null, cmdline)).isFalse();
        assertThat(AdminSecurity.inProcessList("s3cret-token", directory.resolve("none"))).as("unreadable").isFalse();
    }

    @Test
    void theFilesContentWithoutItsTrailingLineBreaksIsTheToken() throws IOException {
        Path file = Files.writeString(directory.resolve("token"), "s3cret value\r\n\n");

        assertThat(AdminSecurity.secret(new FleetProperties.Admin(null, file.toString(), List.of(), 32)))
                .isEqualTo("s3cret value");
    }

    /** Notepad's and PowerShell 5's UTF-8 starts with a byte order mark, which was part of the token. */
    @Test
    void aByteOrderMarkBeforeTheTokenIsNotPartOfIt() throws IOException {
        Path file = Files.write(directory.resolve("token"), new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, 's', '3',
                'c', '\r', '\n'});

        assertThat(AdminSecurity.secret(new FleetProperties.Admin(null, file.toString(), List.of(), 32)))
                .isEqualTo("s3c");
    }

    @Test
    void fleetAdminTokenWinsOverTheFile() throws IOException {
        Path file = Files.writeString(directory.resolve("token"), "from-file");

        assertThat(AdminSecurity.secret(new FleetProperties.Admin("given", file.toString(), List.of(), 32)))
                .isEqualTo("given");
        assertThat(AdminSecurity.secret(new FleetProperties.Admin(null, null, List.of(), 32))).isNull();
    }

    @Test
    void aMissingOrEmptyFileStopsStartupNamingTheProperty() throws IOException {
        Path empty = Files.writeString(directory.resolve("empty"), "\n");

        assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(null,
                directory.resolve("missing").toString(), List.of(), 32))).isInstanceOf(InvalidSetting.class)
                .hasMessageStartingWith("fleet.admin.token-file names ")
                .hasMessageEndingWith("which cannot be read (no such file or directory)");
        assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(null, empty.toString(), List.of(), 32)))
                .isInstanceOf(InvalidSetting.class).hasMessageEndingWith("which holds no token");
    }

    /** Found by an attacking helper: FLEET_ADMIN_TOKEN="$TOKEN" with TOKEN unset left the admin API open. */
    @Test
    void aBlankTokenWithoutAFileStopsStartupNamingTheProperty() throws IOException {
        for (String blank : List.of("", "  ")) {
            assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(blank, null, List.of(), 32)))
                    .isInstanceOf(InvalidSetting.class).hasMessage("fleet.admin.token is set but blank")
                    .extracting(ex -> ((InvalidSetting) ex).property()).isEqualTo("fleet.admin.token");
        }
        Path file = Files.writeString(directory.resolve("token"), "from-file\n");
        assertThat(AdminSecurity.secret(new FleetProperties.Admin("", file.toString(), List.of(), 32)))
                .as("a blank token beside a file: the file's").isEqualTo("from-file");
    }

    /**
     * Found by an attacking helper: a token with a space around it started, and no client could ever send it (HTTP
     * trims a header's value; the command line strips the file's content); a blank file setting left the API open;
     * /dev/zero filled the heap.
     */
    @Test
    void whiteSpaceAroundTheTokenGoesABlankFileSettingStopsStartupAndAFileIsBounded() throws IOException {
        Path spaced = Files.writeString(directory.resolve("spaced"), " sekrit \n");
        assertThat(AdminSecurity.secret(new FleetProperties.Admin(null, spaced.toString(), List.of(), 32))).isEqualTo("sekrit");
        assertThat(AdminSecurity.secret(new FleetProperties.Admin("sekrit ", null, List.of(), 32))).isEqualTo("sekrit");

        for (String blank : List.of("", "  ")) {
            assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(null, blank, List.of(), 32)))
                    .isInstanceOf(InvalidSetting.class).hasMessage("fleet.admin.token-file is set but blank");
        }
        Path large = Files.writeString(directory.resolve("large"), "x".repeat(AdminSecurity.TOKEN_FILE_LIMIT + 1));
        assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(null, large.toString(), List.of(), 32)))
                .isInstanceOf(InvalidSetting.class).hasMessageEndingWith("which holds more than 4096 bytes");
    }

    /**
     * A rotated file's token is in force within the check interval and the old one is refused; a rotation half done
     * (an empty file, a missing one) keeps the token in force, and the file is looked at once per interval at most.
     */
    @Test
    void aRotatedFilesTokenReplacesTheOldOneAndAnUnusableOneKeepsIt() throws IOException {
        Path file = Files.writeString(directory.resolve("token"), "first\n");
        AtomicLong now = new AtomicLong();
        AdminToken token = new AdminToken("first", file, now::get, SocketOwners.ofThisProcess());

        assertThat(accepts(token, "first")).isTrue();
        Files.move(Files.writeString(directory.resolve("next"), "second\n"), file, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        assertThat(accepts(token, "first")).as("before the interval is over, the file is not looked at").isTrue();

        now.addAndGet(AdminToken.CHECK_INTERVAL_NANOS);
        assertThat(accepts(token, "second")).isTrue();
        assertThat(accepts(token, "first")).isFalse();

        Files.writeString(file, "\n");
        Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        now.addAndGet(AdminToken.CHECK_INTERVAL_NANOS);
        assertThat(accepts(token, "second")).as("an empty file keeps the token in force").isTrue();
        Files.delete(file);
        now.addAndGet(AdminToken.CHECK_INTERVAL_NANOS);
        assertThat(accepts(token, "second")).as("a missing file too").isTrue();
        assertThat(accepts(token, "")).isFalse();

        Files.writeString(file, "third");
        now.addAndGet(AdminToken.CHECK_INTERVAL_NANOS);
        assertThat(accepts(token, "third")).isTrue();
    }

    /** A token given as fleet.admin.token is fixed: a file beside it is never read. */
    @Test
    void aTokenNotFromAFileIsFixed() {
        AdminToken token = new AdminToken("given");
        assertThat(accepts(token, "given")).isTrue();
        assertThat(accepts(token, "other")).isFalse();
    }

    private static boolean accepts(AdminToken token, String value) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/fleet");
        request.addHeader("Authorization", "Bearer " + value);
        try {
            return token.authenticate(token.convert(request)).isAuthenticated();
        } catch (BadCredentialsException wrong) {
            return false;
        }
    }

    /**
     * Found by an attacking helper: two lines put in force locked every client out (no header can carry them), and a
     * pipe at the path held a request thread for ever. Refused at startup; on a rotation, the old token stays.
     */
    @Test
    void aTokenOfTwoLinesOrAFileThatIsNoRegularFileIsRefusedAndARotationToOneKeepsTheToken() throws Exception {
        Path twoLines = Files.writeString(directory.resolve("two-lines"), "line-one\nline-two\n");
        assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(null, twoLines.toString(), List.of(), 32)))
                .isInstanceOf(InvalidSetting.class).hasMessageContaining("holds a line break or another control character");
        assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin("a\tb", null, List.of(), 32)))
                .isInstanceOf(InvalidSetting.class).hasMessageStartingWith("fleet.admin.token holds a line break");
        Path pipe = directory.resolve("pipe");
        assertThat(new ProcessBuilder("mkfifo", pipe.toString()).start().waitFor()).isZero();
        assertThatThrownBy(() -> AdminSecurity.secret(new FleetProperties.Admin(null, pipe.toString(), List.of(), 32)))
                .isInstanceOf(InvalidSetting.class).hasMessageEndingWith("which is not a regular file (a directory, a pipe or a device)");

        Path file = Files.writeString(directory.resolve("token"), "first\n");
        AtomicLong now = new AtomicLong();
        AdminToken token = new AdminToken("first", file, now::get, SocketOwners.ofThisProcess());
        Files.move(twoLines, file, StandardCopyOption.REPLACE_EXISTING);
        now.addAndGet(AdminToken.CHECK_INTERVAL_NANOS);
        assertThat(accepts(token, "first")).as("two lines: the old token stays").isTrue();
        Files.delete(file);
        Files.move(pipe, file);
        now.addAndGet(AdminToken.CHECK_INTERVAL_NANOS);
        assertThat(accepts(token, "first")).as("a pipe: the old token stays, and nothing waits on it").isTrue();
    }
}
