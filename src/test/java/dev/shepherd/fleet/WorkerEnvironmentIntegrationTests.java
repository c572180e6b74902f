package dev.shepherd.fleet;

import dev.shepherd.testsupport.MasterProcess;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a real worker process inherits of a real master's environment: everything but the variables that configure
 * the master, which a Spring Boot worker would take for its own ({@code MANAGEMENT_SERVER_PORT}: the master's admin
 * port).
 */
class WorkerEnvironmentIntegrationTests {

    @Test
    void theMastersOwnSettingsStayWithTheMasterAndEverythingElseReachesTheWorkers() throws Exception {
        Map<String, String> variables = new LinkedHashMap<>();
        variables.put("SERVER_SSL_ENABLED", "false");
        variables.put("FLEET_PROXY_BALANCER", "least-request");
        variables.put("SPRING_APPLICATION_JSON", "{\"fleet\":{\"restart\":{\"min-uptime\":\"1s\"}}}");
        variables.put("FLEET_SERVICE_HOST", "10.0.0.7");
        variables.put("SERVER_URL", "https://example.test");
        variables.put("APP_GREETING", "hello");
        // Options for every JVM: the master's settings among them are left out, the variable when nothing is left.
        variables.put("JAVA_OPTS", "-Dfleet.proxy.balancer=least-request -Xmx64m '-Dapp.mode=a b'");
        variables.put("JAVA_TOOL_OPTIONS", "-Dserver.ssl.enabled=false");
        String names = String.join(",", variables.keySet()) + ",MANAGEMENT_SERVER_PORT";

        try (MasterProcess master = MasterProcess.startReadyWithEnvironment(withAdminPort(variables), 1,
                RunningShepherd.echoWorkerCommand(), "--fleet.worker.environment.SERVER_SSL_ENABLED=false")) {
            String env = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + master.proxyPort() + "/env?names=" + names)).build(), HttpResponse.BodyHandlers.ofString()).body();

            assertThat(env).contains("FLEET_SERVICE_HOST=10.0.0.7\n", "SERVER_URL=https://example.test\n",
                            "APP_GREETING=hello\n", "SERVER_SSL_ENABLED=false\n", "JAVA_OPTS=-Xmx64m '-Dapp.mode=a b'\n")
                    .doesNotContain("MANAGEMENT_SERVER_PORT", "FLEET_PROXY_BALANCER", "SPRING_APPLICATION_JSON",
                            "JAVA_TOOL_OPTIONS");
            assertThat(master.output()).contains("Workers do not inherit", "FLEET_PROXY_BALANCER",
                    "MANAGEMENT_SERVER_PORT", "SPRING_APPLICATION_JSON", "Workers inherit JAVA_OPTS without "
                    + "-Dfleet.proxy.balancer:", "Workers inherit JAVA_TOOL_OPTIONS without -Dserver.ssl.enabled, which "
                    + "leaves nothing: not at all").as("names, not values").doesNotContain("\"min-uptime\"", "=least-request");
        }
    }

    /** The admin port MasterProcess gives on the command line is not known yet: the variable names a port of its own. */
    private static Map<String, String> withAdminPort(Map<String, String> variables) {
        Map<String, String> all = new LinkedHashMap<>(variables);
        all.put("MANAGEMENT_SERVER_PORT", Integer.toString(dev.shepherd.testsupport.FreePorts.unassigned()));
        return all;
    }
}
