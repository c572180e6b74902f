package dev.shepherd;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A {@code FLEET_*} variable that sets nothing is warned about, with the variable it most likely meant. */
class UnknownVariablesTests {

    private static final Map<String, String> KNOWN = KnownSettings.types();

    @Test
    void aMisspeltVariableIsWarnedAboutWithTheOneItMeant() {
        assertThat(UnknownVariables.warnings(Map.of("FLEET_WORKERZ", "3"), KNOWN)).containsExactly(
                "The environment variable FLEET_WORKERZ sets no fleet.* setting and is ignored; did you mean "
                        + "FLEET_WORKERS (fleet.workers)?");
        assertThat(UnknownVariables.warnings(Map.of("FLEET_PROXY_BALANCR", "x"), KNOWN)).singleElement()
                .asString().endsWith("did you mean FLEET_PROXY_BALANCER (fleet.proxy.balancer)?");
        assertThat(UnknownVariables.warnings(Map.of("FLEET_PROXY_PORT", "9090"), KNOWN)).containsExactly(
                "The environment variable FLEET_PROXY_PORT sets no fleet.* setting and is ignored; did you mean "
                        + "SERVER_PORT (server.port)?");
        assertThat(UnknownVariables.warnings(Map.of("FLEET_FROBNICATE", "1"), KNOWN)).containsExactly(
                "The environment variable FLEET_FROBNICATE sets no fleet.* setting and is ignored");
    }

    @Test
    void onlyAListOrAMapTakesAnythingAfterItsName() {
        assertThat(UnknownVariables.warnings(Map.of(
                "FLEET_WORKERS_X", "2",
                "FLEET_WORKER_COMMAND_NODE", "x",
                "FLEET_ADMIN_TOKEN_FILEX", "/run/secrets/token",
                "FLEET_MAX_WORKERS_2", "8"), KNOWN)).containsExactly(
                "The environment variable FLEET_ADMIN_TOKEN_FILEX sets no fleet.* setting and is ignored; did you "
                        + "mean FLEET_ADMIN_TOKENFILE (fleet.admin.token-file)?",
                "The environment variable FLEET_MAX_WORKERS_2 sets no fleet.* setting and is ignored; did you mean "
                        + "FLEET_MAXWORKERS (fleet.max-workers)?",
                "The environment variable FLEET_WORKERS_X sets no fleet.* setting and is ignored; did you mean "
                        + "FLEET_WORKERS (fleet.workers)?",
                "The environment variable FLEET_WORKER_COMMAND_NODE sets no fleet.* setting and is ignored");
    }

    @Test
    void everySpellingSpringBootBindsIsQuiet() {
        assertThat(UnknownVariables.warnings(Map.of(
                "FLEET_WORKERS", "2",
                "FLEET_MAXWORKERS", "8",
                "FLEET_ADMIN_TOKEN_FILE", "/run/secrets/token",
                "FLEET_WORKER_COMMAND_0", "node",
                // Found by an attacking helper: Spring Boot binds a bracketed index from the environment too.
                "FLEET_WORKER_COMMAND[1]", "app.js",
                "FLEET__MAX_WORKERS_", "8",
                "FLEET_PROXY_TRUSTEDPROXIES_1", "10.0.0.0/8",
                "PATH", "/usr/bin",
                "FLEETING", "x"), KNOWN)).isEmpty();
    }

    /** Found by a new user: FLEET_WORKER_ENVIRONMENT_APP_VERSION gave the workers app.version, without a word. */
    @Test
    void aWorkerVariableFromTheEnvironmentIsWarnedAboutItsLostCase() {
        assertThat(UnknownVariables.warnings(Map.of("FLEET_WORKER_ENVIRONMENT_APP_VERSION", "3"), KNOWN)).containsExactly(
                "The environment variable FLEET_WORKER_ENVIRONMENT_APP_VERSION gives the workers a variable named "
                        + "app.version, not APP_VERSION: Spring Boot lower-cases a key it binds from the environment "
                        + "and reads _ as a dot. Set APP_VERSION on the master itself (workers inherit its "
                        + "environment), or fleet.worker.environment[APP_VERSION] in a file or an argument");
        assertThat(UnknownVariables.warnings(Map.of("FLEET_WORKER_ENVIRONMENT_myVar", "3"), KNOWN)).singleElement()
                .asString().contains("named myvar, not myVar").contains("Set myVar on the master");
    }

    @Test
    void kubernetesVariablesOfAServiceNamedFleetAreQuiet() {
        assertThat(UnknownVariables.warnings(Map.of(
                "FLEET_SERVICE_HOST", "10.0.0.1",
                "FLEET_SERVICE_PORT", "80",
                "FLEET_SERVICE_PORT_HTTP", "80",
                "FLEET_PORT", "tcp://10.0.0.1:80",
                "FLEET_PORT_80_TCP", "tcp://10.0.0.1:80",
                "FLEET_PORT_80_TCP_PROTO", "tcp",
                "FLEET_PORT_80_TCP_PORT", "80",
                "FLEET_PORT_80_TCP_ADDR", "10.0.0.1"), KNOWN)).isEmpty();
    }

    @Test
    void theVariableOfAPropertyIsSpringBootsCanonicalForm() {
        assertThat(UnknownVariables.asVariable("fleet.proxy.max-connections-per-client"))
                .isEqualTo("FLEET_PROXY_MAXCONNECTIONSPERCLIENT");
    }
}
