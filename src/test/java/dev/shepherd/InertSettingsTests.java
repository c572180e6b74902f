package dev.shepherd;

import dev.shepherd.fleet.FleetProperties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Settings given in vain, because of another setting's value, are warned about once at startup. */
class InertSettingsTests {

    @Test
    void restartOptionsWithPolicyNeverAreWarnedAboutByName() {
        assertThat(warnings(Map.of("fleet.restart.policy", "never", "fleet.restart.initial-backoff", "1s",
                "fleet.restart.crash-loop-restarts", "5"))).containsExactly("fleet.restart.initial-backoff, "
                + "fleet.restart.crash-loop-restarts do nothing, because fleet.restart.policy is never: a worker that "
                + "exits is not started again");
        assertThat(warnings(Map.of("fleet.restart.policy", "on-failure", "fleet.restart.initial-backoff", "1s")))
                .isEmpty();
        assertThat(warnings(Map.of("fleet.restart.policy", "never"))).isEmpty();
    }

    @Test
    void eachRuleWarnsOnlyWhenItsConditionHoldsAndOneOfItsSettingsIsGiven() {
        assertThat(warnings(Map.of("fleet.proxy.retry.max-attempts", "1", "fleet.proxy.retry.backoff", "1s")))
                .containsExactly("fleet.proxy.retry.backoff does nothing, because fleet.proxy.retry.max-attempts is 1: "
                        + "no request is retried");
        assertThat(warnings(Map.of("fleet.proxy.retry.max-attempts", "2", "fleet.proxy.retry.backoff", "1s"))).isEmpty();
        assertThat(warnings(Map.of("fleet.proxy.sticky.app-cookie-max-entries", "10")))
                .containsExactly("fleet.proxy.sticky.app-cookie-max-entries does nothing, because "
                        + "fleet.proxy.sticky.app-cookie is not set: no binding is learnt from a worker's cookie");
        assertThat(warnings(Map.of("fleet.proxy.sticky.app-cookie", "JSESSIONID",
                "fleet.proxy.sticky.app-cookie-max-entries", "10"))).isEmpty();
        assertThat(warnings(Map.of("fleet.proxy.outlier-detection.base-ejection-time", "1m")))
                .singleElement().asString().contains("consecutive-5xx is 0");
        assertThat(warnings(Map.of("fleet.proxy.outlier-detection.base-ejection-time", "1m",
                "fleet.proxy.outlier-detection.consecutive-5xx", "5"))).isEmpty();
        assertThat(warnings(Map.of("fleet.proxy.queue-limit", "0", "fleet.proxy.queue-timeout", "1s",
                "fleet.proxy.retry.max-attempts", "1"))).singleElement().asString()
                .startsWith("fleet.proxy.queue-timeout does nothing");
        assertThat(warnings(Map.of("fleet.proxy.queue-limit", "0", "fleet.proxy.queue-timeout", "1s")))
                .as("a retry waits for a worker as long as queue-timeout (found by an attacking helper)").isEmpty();
        assertThat(warnings(Map.of("fleet.readiness.path", "", "fleet.readiness.status", "204")))
                .containsExactly("fleet.readiness.status does nothing, because fleet.readiness.path is empty: the "
                        + "readiness probe is a TCP connect, which has no status");
        assertThat(warnings(Map.of("fleet.liveness.path", "", "fleet.liveness.status", "204")))
                .singleElement().asString().startsWith("fleet.liveness.status does nothing");
        assertThat(warnings(Map.of("fleet.readiness.status", "204"))).isEmpty();
        assertThat(warnings(Map.of("fleet.admin.token", "t", "fleet.admin.token-file", "/run/secrets/missing",
                "fleet.admin.allowed-hosts", "shepherd.internal"))).containsExactly(
                "fleet.admin.token-file does nothing, because fleet.admin.token is set: it is the token, and the file "
                        + "is not read", "fleet.admin.allowed-hosts does nothing, because a token is set: the admin port "
                        + "then answers any host that sends it");
        assertThat(warnings(Map.of("fleet.admin.allowed-hosts", "shepherd.internal"))).isEmpty();
        assertThat(warnings(Map.of("fleet.proxy.request-buffering", "false", "fleet.proxy.client-body-temp-path", "/var/tmp")))
                .singleElement().asString().startsWith("fleet.proxy.client-body-temp-path does nothing");
        assertThat(warnings(Map.of("fleet.proxy.request-buffering", "false", "fleet.proxy.client-body-temp-max-size", "2GB")))
                .singleElement().asString().startsWith("fleet.proxy.client-body-temp-max-size does nothing");
        assertThat(warnings(Map.of("fleet.proxy.upgrade-protocols", "", "fleet.proxy.tunnel.idle-timeout", "1m")))
                .singleElement().asString().startsWith("fleet.proxy.tunnel.idle-timeout does nothing");
        assertThat(warnings(Map.of("fleet.worker.recycle-check-interval", "5s")))
                .singleElement().asString().startsWith("fleet.worker.recycle-check-interval does nothing");
        assertThat(warnings(Map.of("fleet.worker.recycle-check-interval", "5s", "fleet.worker.max-requests", "1000")))
                .isEmpty();
        assertThat(warnings(Map.of())).as("the defaults").isEmpty();
    }

    /** Spring Boot takes a list given whole and drops elements given by index in the same source, silently. */
    @Test
    void aListsElementsByIndexBesideTheWholeListInTheSameSourceAreWarnedAbout() {
        assertThat(warnings(Map.of("fleet.worker.command", "node,server.js", "fleet.worker.command[2]", "--inspect",
                "fleet.worker.command[10]", "x"))).containsExactly("fleet.worker.command[2], fleet.worker.command[10] are "
                + "ignored, because fleet.worker.command is given whole in the same place (test), and Spring Boot then "
                + "takes that list alone: give every element by index, or all of them in fleet.worker.command");
        assertThat(warnings(Map.of("fleet.worker.command[0]", "node", "fleet.worker.command[1]", "server.js")))
                .isEmpty();
        assertThat(warnings(Map.of("fleet.worker.command", "node,server.js"))).isEmpty();

        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of(
                        "FLEET_PROXY_UPGRADEPROTOCOLS", "websocket", "FLEET_PROXY_UPGRADE_PROTOCOLS_1", "h2c")));
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of("fleet.proxy.upgrade-protocols[0]", "x")));
        ConfigurationPropertySources.attach(environment);
        assertThat(InertSettings.warnings(environment, bind(environment))).as("other sources give their own lists")
                .containsExactly("fleet.proxy.upgrade-protocols[1] is ignored, because fleet.proxy.upgrade-protocols is "
                        + "given whole in the same place (systemEnvironment), and Spring Boot then takes that list "
                        + "alone: give every element by index, or all of them in fleet.proxy.upgrade-protocols");
    }

    /** As an operator writes them: environment variables in Spring Boot's relaxed form count as given. */
    @Test
    void settingsGivenAsEnvironmentVariablesCount() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of(
                        "FLEET_RESTART_POLICY", "never", "FLEET_RESTART_MAXBACKOFF", "1m")));
        ConfigurationPropertySources.attach(environment);

        assertThat(InertSettings.warnings(environment, bind(environment)))
                .containsExactly("fleet.restart.max-backoff does nothing, because fleet.restart.policy is never: a "
                        + "worker that exits is not started again");
    }

    @Test
    @ExtendWith(OutputCaptureExtension.class)
    void theWarningGoesToTheLogAtStartup(CapturedOutput output) {
        StandardEnvironment environment = environment(Map.of("fleet.proxy.retry.max-attempts", "1",
                "fleet.proxy.retry.min-per-second", "5"));

        new InertSettings(environment, bind(environment)).afterSingletonsInstantiated();

        assertThat(output.getOut()).contains("WARN", "fleet.proxy.retry.min-per-second does nothing, because");
    }

    private static List<String> warnings(Map<String, Object> properties) {
        StandardEnvironment environment = environment(properties);
        return InertSettings.warnings(environment, bind(environment));
    }

    private static StandardEnvironment environment(Map<String, Object> properties) {
        StandardEnvironment environment = new StandardEnvironment();
        Map<String, Object> all = new LinkedHashMap<>(properties);
        environment.getPropertySources().addFirst(new MapPropertySource("test", all));
        ConfigurationPropertySources.attach(environment);
        return environment;
    }

    private static FleetProperties bind(StandardEnvironment environment) {
        return Binder.get(environment).bindOrCreate("fleet", FleetProperties.class);
    }
}
