package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

/**
 * Found by a helper acting as a new user: without a token, user {@code nobody} ran a command of its choosing as the
 * master's user with one {@code curl} (a reload takes a command). Now a master without a token answers only its own
 * user's processes and root's, told apart by the kernel's socket tables; health stays open to every user. The other
 * user here is {@code nobody}, through {@code setpriv}, which only root may do: skipped otherwise.
 */
@ExtendWith(OutputCaptureExtension.class)
class OtherUsersIntegrationTests {

    private static final int NOBODY = 65534;

    @Test
    void withoutATokenAnotherUsersProcessIsRefusedWhereTheMastersUserIsAnswered(CapturedOutput output) throws Exception {
        SocketOwners owners = SocketOwners.ofThisProcess();
        assumeThat(owners.checks()).as("the kernel's socket tables (Linux)").isTrue();
        assumeThat(owners.owner()).as("root, to act as another user").isZero();
        assumeThat(Files.isExecutable(Path.of("/usr/bin/setpriv"))).as("setpriv (apt-get install util-linux)").isTrue();
        assumeThat(canActAsNobody()).as("setpriv to uid " + NOBODY + " (mapped in this user namespace)").isTrue();
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            int port = shepherd.adminPort();
            assertThat(output.getOut()).contains("The admin API on port " + port + " has no token: it answers only "
                    + "root's processes; for other users and machines, set FLEET_ADMIN_TOKEN or fleet.admin.token-file");

            assertThat(shepherd.admin("GET", "/fleet", null).statusCode()).as("the master's own user").isEqualTo(200);
            String refused = asNobody(port, "GET /fleet HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", false);
            assertThat(refused).startsWith("HTTP/1.1 403").contains("application/problem+json")
                    .contains("This admin port has no token, so it answers only root's processes on this machine; "
                            + "another user needs fleet.admin.token set")
                    .doesNotContain("\"workers\"");
            String health = asNobody(port, "GET /actuator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                    false);
            assertThat(health).as("health is open to every user").startsWith("HTTP/1.1 200");

            // Sent and closed at once: the kernel ends the connection for no socket, and lists it as root's.
            String scale = "{\"workers\":3}";
            asNobody(port, "POST /fleet/scale HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + scale.length() + "\r\n\r\n" + scale, true);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> shepherd.snapshot().desired() == 1);
        }
    }

    /**
     * Found by an attacking helper: with server.forward-headers-strategy=framework (or native), the admin port took
     * its caller's address from Forwarded (or X-Forwarded-For), and user nobody named the address and port of a
     * connection of root's to be taken for it. The admin port takes no forwarded header, whatever is set, and says so.
     */
    @Test
    void anotherUsersForwardedHeaderNamingTheMastersUsersConnectionIsNotTakenForIt(CapturedOutput output) throws Exception {
        SocketOwners owners = SocketOwners.ofThisProcess();
        assumeThat(owners.checks()).as("the kernel's socket tables (Linux)").isTrue();
        assumeThat(owners.owner()).as("root, to act as another user").isZero();
        assumeThat(Files.isExecutable(Path.of("/usr/bin/setpriv"))).as("setpriv (apt-get install util-linux)").isTrue();
        assumeThat(canActAsNobody()).as("setpriv to uid " + NOBODY + " (mapped in this user namespace)").isTrue();
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--server.forward-headers-strategy=framework", "--server.tomcat.remoteip.remote-ip-header=X-Real-IP");
                java.net.Socket roots = new java.net.Socket("127.0.0.1", shepherd.adminPort())) {
            assertThat(output.getOut()).contains("server.forward-headers-strategy=framework, "
                    + "server.tomcat.remoteip.remote-ip-header=X-Real-IP not applied: the admin API takes no forwarded header");
            String forged = "for=\"127.0.0.1:" + roots.getLocalPort() + "\"";

            String answer = asNobody(shepherd.adminPort(), "GET /fleet HTTP/1.1\r\nHost: 127.0.0.1\r\nForwarded: " + forged
                    + "\r\nX-Forwarded-For: 127.0.0.1\r\nX-Real-IP: 127.0.0.1\r\nConnection: close\r\n\r\n", false);

            assertThat(answer).startsWith("HTTP/1.1 403").doesNotContain("\"workers\"");
        }
    }

    /** Whether a process can run as user nobody here: in a user namespace that does not map it, setpriv fails. */
    private static boolean canActAsNobody() throws IOException, InterruptedException {
        Process process = new ProcessBuilder("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", "/bin/true").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            return process.waitFor(15, TimeUnit.SECONDS) && process.exitValue() == 0;
        } finally {
            process.destroyForcibly();
        }
    }

    /** What {@code request}, sent by a process of user nobody, got back; nothing when it closed at once. */
    private static String asNobody(int port, String request, boolean closeAtOnce) throws IOException, InterruptedException {
        String script = "exec 3<>/dev/tcp/127.0.0.1/" + port + " && printf '%s' \"$REQUEST\" >&3 && "
                + (closeAtOnce ? "exec 3>&-" : "timeout 10 cat <&3");
        ProcessBuilder builder = new ProcessBuilder(List.of("/usr/bin/setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", "/bin/bash", "-c", script)).redirectErrorStream(true);
        builder.environment().put("REQUEST", request);
        Process process = builder.start();
        try {
            assertThat(process.waitFor(15, TimeUnit.SECONDS)).as("bash as nobody ended").isTrue();
            return new String(process.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        } finally {
            process.destroyForcibly();
        }
    }
}
