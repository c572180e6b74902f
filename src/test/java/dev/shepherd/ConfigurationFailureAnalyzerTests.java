package dev.shepherd;

import dev.shepherd.fleet.FleetProperties;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The startup report of a bad {@code fleet.*} setting names the property as it is written, with value and origin. */
class ConfigurationFailureAnalyzerTests {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(FleetProperties.class)
    @org.springframework.context.annotation.Import(OneLetterSizes.class)
    static class Config {
    }

    @Test
    void aValueOutOfRangeIsReportedUnderItsDashedName() {
        assertThat(describe("fleet.worker.max-concurrency", "-1")).contains(
                "Property: fleet.worker.max-concurrency\n", "Value: \"-1\"\n", "Origin: \"fleet.worker.max-concurrency\" from property source \"test\"",
                "Reason: must be greater than or equal to 0").doesNotContain("maxConcurrency");
        assertThat(describe("fleet.proxy.sticky.app-cookie-max-entries", "0")).contains(
                "Property: fleet.proxy.sticky.app-cookie-max-entries\n").doesNotContain("appCookie");
    }

    /**
     * Values that started and then broke the fleet (found by an attacking helper): durations that overflow
     * (a startup that never ends), a jitter past a long's range, sizes Netty refuses at the proxy's start, a zero
     * memory limit that recycled every worker every 2 s, a status range that no status falls in.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
            "fleet.worker.startup-timeout     | 9999999999999d      | Property: fleet.worker.startup-timeout",
            "fleet.proxy.keep-alive-timeout   | 366d                | Property: fleet.proxy.keep-alive-timeout",
            "fleet.worker.max-requests-jitter | 9223372036854775807 | Property: fleet.worker.max-requests-jitter",
            "fleet.restart.multiplier         | Infinity            | Property: fleet.restart.multiplier",
            "fleet.proxy.max-header-size      | 0                   | fleet.proxy.max-header-size must be between 1KB and 1MB",
            "fleet.proxy.max-initial-line-length | 3GB              | fleet.proxy.max-initial-line-length must be between",
            "fleet.worker.max-memory          | 0                   | fleet.worker.max-memory must be at least 1MB",
            "fleet.proxy.retry.buffer-limit   | 17MB                | fleet.proxy.retry.buffer-limit must be between 0 and 16MB",
            "fleet.proxy.retry.buffer-limit   | -1                  | fleet.proxy.retry.buffer-limit must be between 0 and 16MB",
            "fleet.readiness.status           | 500-200             | fleet.readiness.status must go from the lower",
            "fleet.liveness.status            | 399-200             | fleet.liveness.status must go from the lower",
            "fleet.worker.stop-signal         | SIGBOOM             | Reason: must be one of TERM, INT, HUP, QUIT, USR1, USR2, KILL (any case, with or without SIG)"})
    void valuesThatWouldBreakTheFleetAfterStartingStopItInstead(String name, String value, String reported) {
        assertThat(describe(name, value)).contains(reported);
    }

    @Test
    void aProbeTakesOneStatusOrARangeAndNothingElse() {
        new ApplicationContextRunner().withUserConfiguration(Config.class)
                .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
                .withPropertyValues("fleet.readiness.status=204", "fleet.liveness.status=200-200")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(FleetProperties.class).readiness().status()).isEqualTo("204");
                });
        for (String bad : new String[] {"2xx", "200-", "200,204", "600", "99"}) {
            assertThat(describe("fleet.readiness.status", bad)).as(bad).contains("Property: fleet.readiness.status\n",
                    "Reason: must be an HTTP status or a range of them, 100 to 599, such as 200-399 or 204");
        }
    }

    @Test
    void aListWithAGapNamesTheGapNotTheListsShape() {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("fleet.worker.command[0]", "node");
        properties.put("fleet.worker.command[2]", "server.js");
        assertThat(describe(properties)).contains("Property: fleet.worker.command[2]\n", "Value: \"server.js\"",
                "Reason: fleet.worker.command's indexes must run 0, 1, 2... without a gap").doesNotContain("takes one value");
        assertThat(describe("fleet.workers[0]", "2")).contains("Reason: fleet.workers takes one value, not a list or a map");
        Map<String, Object> zeros = new LinkedHashMap<>();
        zeros.put("fleet.worker.command[00]", "node");
        zeros.put("fleet.worker.command[01]", "server.js");
        assertThat(describe(zeros)).as("found by an attacking helper").contains("Property: fleet.worker.command[01]\n",
                "Reason: fleet.worker.command's indexes are written without leading zeros: [1], not [01]")
                .doesNotContain("gap");
        assertThat(describe("fleet.worker.command[a]", "node")).contains("Property: fleet.worker.command[a]\n",
                "Reason: fleet.worker.command's elements are plain values, each with one number as its index");
    }

    /**
     * Found by a new user: a file with a bad size and a misspelt name took two starts to learn both, as Spring Boot
     * reports unknown names only once every value binds. The report of a bad value names them too; a map's keys and
     * a list's elements are not unknown.
     */
    @Test
    void aBadValueIsReportedWithTheUnknownNamesBesideIt() {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("fleet.worker.comand[0]", "node");
        properties.put("fleet.worker.comand[1]", "server.js");
        properties.put("fleet.worker.command[0]", "node");
        properties.put("fleet.worker.environment.FOO", "bar");
        properties.put("fleet.worker.max-memory", "300 megs");
        assertThat(describe(properties)).contains("Property: fleet.worker.max-memory\n", "Reason: must be a size",
                "And unknown:", "Property: fleet.worker.comand[0]\n", "Value: \"node\"",
                "Reason: Shepherd has no setting fleet.worker.comand; did you mean fleet.worker.command?")
                .doesNotContain("setting fleet.worker.command[0]", "FOO", "comand[1]");
        properties.put("fleet.worker.max-memory", "-1MB");
        assertThat(describe(properties)).contains("Property: fleet.worker.max-memory\n", "And unknown:",
                "did you mean fleet.worker.command?");
        assertThat(describe("fleet.worker.max-memory", "300 megs")).doesNotContain("And unknown");
        assertThat(analyze(properties).getAction()).endsWith("correct or remove the unknown names and variables.");
        assertThat(analyze(Map.of("fleet.worker.max-memory", "300 megs")).getAction()).doesNotContain("unknown");
    }

    /** A new user's {@code command: python3 apps/app.py} in YAML ran a master that retried that one program for ever. */
    @Test
    void aCommandGivenAsOneStringWithSpacesStopsTheStart(@org.junit.jupiter.api.io.TempDir java.nio.file.Path directory)
            throws Exception {
        assertThat(describe("fleet.worker.command", "python3 apps/app.py")).contains("Property: fleet.worker.command\n",
                "Reason: fleet.worker.command is a list, one element per argument (in YAML a list, [python3, app.py]; "
                        + "as one value, python3,app.py): its program has a space and is no file");
        java.nio.file.Path spaced = java.nio.file.Files.createFile(directory.resolve("my app"));
        Map<String, Object> file = new LinkedHashMap<>();
        file.put("fleet.worker.command", spaced.toString());
        file.put("fleet.worker.max-memory", "300 megs");
        assertThat(describe(file)).as("a path with a space that is a file").doesNotContain("fleet.worker.command");
        Map<String, Object> relative = new LinkedHashMap<>();
        relative.put("fleet.worker.command", "my app");
        relative.put("fleet.worker.working-directory", directory.toString());
        relative.put("fleet.worker.max-memory", "300 megs");
        assertThat(describe(relative)).as("relative to the working directory").doesNotContain("fleet.worker.command");
    }

    @Test
    void anUnknownBalancerListsTheValuesAsTheyAreWritten() {
        assertThat(describe("fleet.proxy.balancer", "least-requests")).contains("Property: fleet.proxy.balancer\n",
                "Value: \"least-requests\"", "Reason: must be one of round-robin, least-request")
                .doesNotContain("LEAST_REQUEST", "dev.shepherd");
    }

    @Test
    void aValueOfTheWrongKindSaysWhatIsExpectedNotTheJavaType() {
        assertThat(describe("fleet.worker.max-concurrency", "abc")).contains("Reason: must be a whole number")
                .doesNotContain("jakarta", "NumberFormatException");
        assertThat(describe("fleet.proxy.queue-timeout", "5 minutes")).contains("Property: fleet.proxy.queue-timeout\n",
                "Reason: must be a duration such as");
        assertThat(describe("fleet.worker.max-memory", "300 megs")).contains("Value: \"300 megs\"",
                "Reason: must be a size such as 512B, 64KB, 300MB or 1GB (or PM2's and nginx's 300M, 1G)");
    }

    @Test
    void aListGivenForASingleValueSaysSo() {
        assertThat(describe("fleet.workers", "2,3")).contains("Value: \"2,3\"", "Reason: must be a whole number (a "
                + "comma makes it a list of values: this setting takes one)");
        assertThat(describe("fleet.proxy.balancer", "round-robin,least-request")).contains("this setting takes one");
        assertThat(describe("fleet.worker.max-concurrency", "abc")).doesNotContain("comma");
    }

    @Test
    void aRuleAcrossPropertiesIsReportedByItsMessageAlone() {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("fleet.proxy.sticky.cookie", "SRV");
        properties.put("fleet.proxy.sticky.app-cookie", "SRV");
        assertThat(describe(properties)).contains("Property: fleet.proxy.sticky.app-cookie\n    Value: \"SRV\"",
                        "Property: fleet.proxy.sticky.cookie\n    Value: \"SRV\"",
                        "Reason: fleet.proxy.sticky.app-cookie must not be the name of fleet.proxy.sticky.cookie")
                .doesNotContain("apart", "Apart");
        assertThat(describe("fleet.workers", "1000")).contains("Property: fleet.workers\n    Value: \"1000\"",
                "Reason: fleet.workers must not be larger than fleet.max-workers (64 unless set)")
                .doesNotContain("Property: fleet.max-workers");
    }

    @Test
    void aPortOrAddressSettingIsReportedByItsMessageWithTheActionNamingIt() {
        FailureAnalysis analysis = new ConfigurationFailureAnalyzer(null).analyze(new IllegalStateException("wrapped",
                new InvalidSetting("server.port", "server.port is 'abc': give a port number")));

        assertThat(analysis.getDescription()).isEqualTo("server.port is 'abc': give a port number");
        assertThat(analysis.getAction()).startsWith("Fix server.port (see the Configuration table of the README)")
                .endsWith("or remove it to use the default.");
    }

    @Test
    void aPortInUseIsNamedByItsSetting() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("test", java.util.Map.of(
                // As PortLayout leaves them: the admin API's port is the servlet container's server.port.
                PortLayout.PROXY_PORT, "8080", "management.server.port", "", "server.port", "8081")));
        ConfigurationFailureAnalyzer analyzer = new ConfigurationFailureAnalyzer(environment);

        FailureAnalysis proxy = analyzer.analyze(new IllegalStateException("wrapped",
                new org.springframework.boot.web.server.PortInUseException(8080)));
        FailureAnalysis admin = analyzer.analyze(new org.springframework.boot.web.server.PortInUseException(8081));

        assertThat(proxy.getDescription()).isEqualTo("Port 8080 (server.port, the proxy) is already in use.");
        assertThat(proxy.getAction()).contains("set server.port to another port");
        assertThat(admin.getDescription()).isEqualTo("Port 8081 (management.server.port, the admin API) is already in use.");
        assertThat(admin.getAction()).contains("port 8081", "set management.server.port to another port");
        assertThat(analyzer.analyze(new org.springframework.boot.web.server.PortInUseException(9999)))
                .as("another port: Boot's own report").isNull();
    }

    /** A new user's {@code shepherd start -p 47000} was told of server.port only, which they had not typed. */
    @Test
    void aPortInUseThatShepherdStartsOptionGaveIsNamedByThatOptionToo() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("test", java.util.Map.of(
                PortLayout.PROXY_PORT, "47000", "server.port", "47001",
                StartCommand.TYPED_OPTION + "server.port", "-p",
                StartCommand.TYPED_OPTION + "management.server.port", "--admin-port")));
        ConfigurationFailureAnalyzer analyzer = new ConfigurationFailureAnalyzer(environment);

        FailureAnalysis proxy = analyzer.analyze(new org.springframework.boot.web.server.PortInUseException(47000));
        FailureAnalysis admin = analyzer.analyze(new org.springframework.boot.web.server.PortInUseException(47001));

        assertThat(proxy.getDescription()).isEqualTo("Port 47000 (-p, server.port, the proxy) is already in use.");
        assertThat(proxy.getAction()).endsWith("or give -p another port (0 picks a free one).");
        assertThat(admin.getDescription())
                .isEqualTo("Port 47001 (--admin-port, management.server.port, the admin API) is already in use.");
        assertThat(admin.getAction()).endsWith("or give --admin-port another port (0 picks a free one).");
    }

    @Test
    void aMaxBackoffShorterThanTheInitialOneIsRefused() {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("fleet.restart.initial-backoff", "10s");
        properties.put("fleet.restart.max-backoff", "10ms");
        assertThat(describe(properties)).contains("Reason: fleet.restart.max-backoff must not be shorter than "
                + "fleet.restart.initial-backoff");
    }

    @Test
    void aSettingShepherdDoesNotHaveStopsTheStartWithTheNameItMostLikelyMeant() {
        assertThat(describe("fleet.workerz", "3")).contains("Unknown setting:", "Property: fleet.workerz\n",
                "Value: \"3\"", "Reason: Shepherd has no setting fleet.workerz; did you mean fleet.workers?");
        assertThat(describe("fleet.max-concurency", "3"))
                .contains("did you mean fleet.worker.max-concurrency?");
        assertThat(describe("fleet.proxy.retry.max-atempts", "3")).contains("did you mean fleet.proxy.retry.max-attempts?");
        assertThat(describe("fleet.worker.comand[0]", "node")).contains("Property: fleet.worker.comand[0]\n",
                "Reason: Shepherd has no setting fleet.worker.comand; did you mean fleet.worker.command?");
        assertThat(describe("fleet.frobnicate", "yes")).contains("Reason: Shepherd has no setting fleet.frobnicate\n")
                .doesNotContain("did you mean");
    }

    /** Found by a new user's attack: "Shepherd has no setting fleet.state-file; did you mean fleet.state-file?". */
    @Test
    void anEmptyValueOfASettingThatExistsSaysItIsEmpty() {
        assertThat(describe("fleet.state-file", "")).contains("Property: fleet.state-file\n",
                "Reason: fleet.state-file is empty, and takes no empty value: leave it out (or unset it) for its default")
                .doesNotContain("has no setting", "did you mean");
        assertThat(describe("fleet.worker.max-memory", "")).contains("Reason: fleet.worker.max-memory is empty");
    }

    /**
     * Found by a new user's attack (2026-12-04): a value for a map named Spring's converter types, and a YAML list for
     * a setting of one value was called empty.
     */
    @Test
    void aValueForAMapOrAGroupAndAListForOneValueSayWhatIsWanted() {
        assertThat(describe("fleet.worker.environment", "foo")).contains("Property: fleet.worker.environment\n",
                "Reason: must be names and values, each given as fleet.worker.environment.NAME=value (in YAML, keys "
                        + "under fleet.worker.environment)").doesNotContain("converter", "java.");
        assertThat(describe("fleet.proxy.sticky", "on")).contains("Reason: is a group of settings, not a value: give "
                + "each as fleet.proxy.sticky.NAME=value").doesNotContain("converter", "java.");
        assertThat(describe("fleet.workers[0]", "1")).contains("Reason: fleet.workers takes one value, not a list or a "
                + "map").doesNotContain("is empty");
    }

    @Test
    void aPortOrAddressGuessedUnderFleetIsSuggestedAsSpringBootsSetting() {
        assertThat(describe("fleet.proxy.port", "9090")).contains("did you mean server.port?");
        assertThat(describe("fleet.proxy.portt", "9090")).contains("did you mean server.port?");
        assertThat(describe("fleet.admin.port", "9091")).contains("did you mean management.server.port?");
        assertThat(describe("fleet.ui.port", "1")).contains("did you mean server.port?");
        // A short last element two letters off is no guess: "port" is not "work".
        assertThat(describe("fleet.cache.dirt", "1")).doesNotContain("did you mean");
    }

    @Test
    void aWorkersEnvironmentTakesAnyName() {
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("fleet.worker.environment.SOME_NAME", "1");
        properties.put("fleet.max-workers", "0");
        assertThat(describe(properties)).contains("Property: fleet.max-workers").doesNotContain("SOME_NAME");
    }

    @Test
    void theKnownNamesAreTheDocumentedOnes() {
        assertThat(KnownSettings.names()).contains("fleet.workers", "fleet.worker.command", "fleet.proxy.balancer",
                "fleet.admin.token-file").allMatch(name -> name.startsWith("fleet."));
        assertThat(KnownSettings.distance("kitten", "sitting")).isEqualTo(3);
        assertThat(KnownSettings.distance("", "abc")).isEqualTo(3);
    }

    @Test
    void otherFailuresAreLeftToSpringBoot() {
        assertThat(new ConfigurationFailureAnalyzer(new StandardEnvironment())
                .analyze(new IllegalStateException("something else"))).isNull();
    }

    private static String describe(String name, String value) {
        return describe(Map.of(name, value));
    }

    private static String describe(Map<String, Object> properties) {
        return analyze(properties).getDescription();
    }

    /**
     * A new user's {@code start -i 5000} was told of fleet.workers from "commandLineArgs", twice (one rule for 1,024,
     * one for max-workers), and never of -i: the option typed is named, once.
     */
    @Test
    void aValueThatShepherdStartsOptionGaveIsNamedByThatOptionOnce() {
        String description = analyze(Map.of("fleet.workers", "5000", StartCommand.TYPED_OPTION + "fleet.workers", "-i"))
                .getDescription();
        assertThat(description).contains("Property: fleet.workers\n    Value: \"5000\"\n    Option: -i of shepherd start\n"
                + "    Reason: fleet.workers must not be larger than fleet.max-workers (64 unless set)\n")
                .doesNotContain("Origin:", "1024");
        assertThat(description.split("Property: fleet.workers", -1)).as("reported once").hasSize(2);
    }

    /** A misspelt variable beside a bad one: a start that fails never reached the warning of a start that succeeds. */
    @Test
    void aBadValueIsReportedWithTheVariablesThatSetNothing() {
        Map<String, Object> variables = Map.of("FLEET_WORKERZ", "3", "PATH", "/bin");
        String description = analyze(Map.of("fleet.worker.max-memory", "300 megs"), variables).getDescription();
        assertThat(description).contains("Reason: must be a size", "And variables:",
                "The environment variable FLEET_WORKERZ sets no fleet.* setting and is ignored; did you mean FLEET_WORKERS")
                .doesNotContain("PATH");
    }

    private static FailureAnalysis analyze(Map<String, Object> properties) {
        return analyze(properties, Map.of());
    }

    private static FailureAnalysis analyze(Map<String, Object> properties, Map<String, Object> variables) {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new org.springframework.core.env.SystemEnvironmentPropertySource(
                        StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
        environment.getPropertySources().addFirst(new MapPropertySource("test", properties));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        new ApplicationContextRunner(() -> new org.springframework.context.annotation.AnnotationConfigApplicationContext())
                .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
                .withUserConfiguration(Config.class)
                .withPropertyValues(properties.entrySet().stream().map(entry -> entry.getKey() + "=" + entry.getValue())
                        .toArray(String[]::new))
                .run(context -> failure.set(context.getStartupFailure()));
        assertThat(failure.get()).as("the context failed to start").isNotNull();
        FailureAnalysis analysis = new ConfigurationFailureAnalyzer(environment).analyze(failure.get());
        assertThat(analysis).as("analyzed").isNotNull();
        return analysis;
    }
}
