package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.web.server.PortInUseException;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A port in use stops the start before any worker runs: the workers ran first, and were killed when the port's bind
 * failed (a migration, an instance-0 cron job for nothing; found by a new user). The worker here leaves a file
 * behind if it ever starts.
 */
class PortInUseIntegrationTests {

    @Test
    void aProxyPortInUseStopsTheStartBeforeAnyWorkerRuns(@TempDir Path directory) throws Exception {
        try (ServerSocket taken = listening()) {
            assertStartStopsWithoutAWorker(directory, taken.getLocalPort(), "--server.port=" + taken.getLocalPort(),
                    "--management.server.port=0");
        }
    }

    @Test
    void anAdminPortInUseStopsTheStartBeforeAnyWorkerRuns(@TempDir Path directory) throws Exception {
        try (ServerSocket taken = listening()) {
            assertStartStopsWithoutAWorker(directory, taken.getLocalPort(), "--server.port=0",
                    "--management.server.port=" + taken.getLocalPort());
        }
    }

    /**
     * Both ports taken: one report names both (it named the admin API's only; a new user freed it, started again and
     * only then met the proxy's).
     */
    @Test
    void bothPortsInUseAreReportedTogether(@TempDir Path directory) throws Exception {
        try (ServerSocket proxy = listening(); ServerSocket admin = listening()) {
            assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class,
                    "--server.port=" + proxy.getLocalPort(), "--management.server.port=" + admin.getLocalPort(),
                    "--fleet.workers=1", "--fleet.worker.command=sleep,30"))
                    .satisfies(failure -> {
                        Throwable cause = failure;
                        while (cause != null && !(cause instanceof PortInUseException)) {
                            cause = cause.getCause();
                        }
                        assertThat(cause).as("the failure's cause: " + failure).isInstanceOf(PortInUseException.class);
                        FailureAnalysis analysis = new ConfigurationFailureAnalyzer(environmentOf(proxy, admin))
                                .analyze(failure);
                        assertThat(analysis.getDescription()).isEqualTo("Port " + admin.getLocalPort()
                                + " (management.server.port, the admin API) is already in use.\nPort "
                                + proxy.getLocalPort() + " (server.port, the proxy) is already in use.");
                        assertThat(analysis.getAction()).contains("set management.server.port to another port",
                                "set server.port to another port");
                    });
        }
    }

    /** The settings as {@link PortLayout} leaves them: the admin API's port in server.port, the proxy's apart. */
    private static org.springframework.core.env.Environment environmentOf(ServerSocket proxy, ServerSocket admin) {
        org.springframework.core.env.StandardEnvironment environment = new org.springframework.core.env.StandardEnvironment();
        environment.getPropertySources().addFirst(new org.springframework.core.env.MapPropertySource("test", java.util.Map.of(
                PortLayout.PROXY_PORT, String.valueOf(proxy.getLocalPort()),
                "server.port", String.valueOf(admin.getLocalPort()))));
        return environment;
    }

    /** An admin address not on this host: said, naming the settings, before any worker runs (an attacking helper's). */
    @Test
    void anAdminAddressNotOnThisHostStopsTheStartBeforeAnyWorkerRuns(@TempDir Path directory) {
        Path ran = directory.resolve("ran");
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, "--server.port=0",
                "--management.server.port=0", "--management.server.address=192.0.2.1", "--fleet.admin.token=t0ken",
                "--fleet.workers=1",
                "--fleet.worker.command=sh,-c,touch '" + ran + "'; exec sleep 30"))
                .hasStackTraceContaining("The admin API cannot listen on 192.0.2.1 port 0");
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !Files.exists(ran));
    }

    private static ServerSocket listening() throws Exception {
        ServerSocket socket = new ServerSocket();
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return socket;
    }

    private static void assertStartStopsWithoutAWorker(Path directory, int port, String... ports) throws Exception {
        Path ran = directory.resolve("ran");
        String[] args = {ports[0], ports[1], "--fleet.workers=1",
                "--fleet.worker.command=sh,-c,touch '" + ran + "'; exec sleep 30"};
        assertThatThrownBy(() -> SpringApplication.run(ShepherdApplication.class, args))
                .satisfies(failure -> {
                    Throwable cause = failure;
                    while (cause != null && !(cause instanceof PortInUseException)) {
                        cause = cause.getCause();
                    }
                    assertThat(cause).as("the failure's cause: " + failure).isInstanceOf(PortInUseException.class);
                    assertThat(((PortInUseException) cause).getPort()).isEqualTo(port);
                });
        // A worker started would have written the file within a moment of its start.
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !Files.exists(ran));
    }
}
