package dev.shepherd;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Which variables of the master's environment configure the master, and so stay out of the workers'. */
class MasterVariablesTests {

    private static final List<String> MASTERS = List.of("FLEET_ADMIN_TOKEN", "FLEET_ADMIN_TOKEN_FILE",
            "FLEET_WORKER_COMMAND_0", "FLEET_WORKER_ENVIRONMENT_NODE_ENV", "FLEET_MAX_WORKERS", "FLEET_MAXWORKERS",
            "MANAGEMENT_SERVER_PORT", "MANAGEMENT_SERVER_ADDRESS", "management_server_port", "server.port",
            "SERVER_SSL_ENABLED", "SERVER_SSL_KEYSTOREPASSWORD", "SERVER_SSL_KEY_STORE_PASSWORD",
            "MANAGEMENT_SERVER_SSL_BUNDLE", "SERVER_SSL_CIPHERS_0", "SPRING_APPLICATION_JSON",
            "SPRING_CONFIG_ADDITIONALLOCATION", "SPRING_CONFIG_ADDITIONAL_LOCATION", "SPRING_CONFIG_LOCATION",
            // Found by an attacking helper: a list's index in either spelling.
            "SPRING_CONFIG_IMPORT_0", "SPRING_CONFIG_LOCATION_1", "FLEET_WORKER_COMMAND[0]", "fleet.worker.command[1]",
            "MANAGEMENT_ENDPOINTS_WEB_EXPOSURE_INCLUDE[0]", "SPRING_CONFIG_IMPORT[0]",
            // Empty elements, which Spring Boot drops; the Kelvin sign, a k once lower-cased.
            "FLEET__WORKERS", "FLEET_WORKERS_", "MANAGEMENT__SERVER__PORT", "SPRING__APPLICATION__JSON",
            "FLEET_ADMIN_TO\u212AEN",
            // The master's log files, and the command line's token and address.
            "LOGGING_FILE_NAME", "LOGGING_CONFIG", "SPRING_CONFIG_ONNOTFOUND", "SHEPHERD_ADMIN_TOKEN",
            "SHEPHERD_ADMIN_TOKEN_FILE", "SHEPHERD_ADMIN_URL");

    /** Kubernetes' service links, an app's own names that only look alike, and what every process needs. */
    private static final List<String> OTHERS = List.of("FLEET_SERVICE_HOST", "FLEET_SERVICE_PORT", "FLEET_PORT_80_TCP",
            "SERVER_SERVICE_HOST", "MANAGEMENT_SERVICE_PORT", "SERVER_URL", "SERVER_NAME", "SPRING_PROFILES_ACTIVE",
            "NODE_ENV", "PATH", "HOME", "JAVA_TOOL_OPTIONS", "FLEET", "SERVER", "FLEET_", "LOGGING_LEVEL_ROOT",
            "SHEPHERD_WORKER_ID", "SHEPHERD_CTL_CACHE");

    @Test
    void theMastersSettingsInEverySpellingSpringBootBindsAreFoundAndNothingElse() {
        Map<String, String> environment = new LinkedHashMap<>();
        MASTERS.forEach(name -> environment.put(name, "x"));
        OTHERS.forEach(name -> environment.put(name, "x"));

        assertThat(MasterVariables.in(environment)).containsExactlyInAnyOrderElementsOf(MASTERS);
    }

    @Test
    void jvmOptionsThatSetTheMastersSettingsAreLeftOutAndTheOthersKeptAsWritten() {
        Map<String, String> environment = Map.of(
                "JAVA_TOOL_OPTIONS", "-Xmx1g  -Dfleet.admin.token=secret -Dserver.port=9000\t-Dapp.name=\"a b\"",
                "JDK_JAVA_OPTIONS", "-Dmanagement.server.port=9001",
                "_JAVA_OPTIONS", "-Dspring.profiles.active=prod -Dserver.name=x",
                "JAVA_OPTS", "'-Dfleet.worker.command[0]=node' -D\"server.ssl.keyStore=/k s\" -Dlogging.file.name=m.log -ea",
                "OTHER_OPTIONS", "-Dfleet.admin.token=secret");

        Map<String, MasterVariables.JvmOptions> options = MasterVariables.jvmOptions(environment);

        assertThat(options).containsOnlyKeys("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS");
        assertThat(options.get("JAVA_TOOL_OPTIONS")).isEqualTo(new MasterVariables.JvmOptions("-Xmx1g -Dapp.name=\"a b\"",
                List.of("fleet.admin.token", "server.port")));
        assertThat(options.get("JDK_JAVA_OPTIONS").value()).isEmpty();
        assertThat(options.get("JAVA_OPTS")).isEqualTo(new MasterVariables.JvmOptions("-ea",
                List.of("fleet.worker.command[0]", "server.ssl.keyStore", "logging.file.name")));
    }

    @Test
    void optionsSplitOnWhiteSpaceOutsideQuotes() {
        assertThat(MasterVariables.options(" -a  '-Db=c d'\n-D\"e=f g\"h \"\" ")).containsExactly("-a", "'-Db=c d'",
                "-D\"e=f g\"h", "\"\"");
        assertThat(MasterVariables.options("   ")).isEmpty();
    }

    @Test
    void anEmptyEnvironmentHasNone() {
        assertThat(MasterVariables.in(Map.of())).isEmpty();
    }
}
