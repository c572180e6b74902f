package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.validation.autoconfigure.ValidationAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.FieldError;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FleetPropertiesTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(ValidationAutoConfiguration.class))
            .withUserConfiguration(Config.class);

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(FleetProperties.class)
    static class Config {
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1"})
    void workersBelowOneFailsStartupNamingTheProperty(String workers) {
        runner.withPropertyValues("fleet.workers=" + workers).run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.workers = " + workers + ": must be greater than or equal to 1");
        });
    }

    @Test
    void workersAboveTheLimitFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.workers=100000").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.workersWithinMax = false: fleet.workers must not be larger than "
                            + "fleet.max-workers (64 unless set)");
        });
    }

    @Test
    void workersThatIsNoNumberFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.workers=abc").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).rootCause().isInstanceOf(NumberFormatException.class)
                    .hasMessageContaining("abc");
            assertThat(causes(context.getStartupFailure())).filteredOn(BindException.class::isInstance).singleElement()
                    .extracting(Throwable::getMessage).asString()
                    .startsWith("Failed to bind properties under 'fleet.workers'");
        });
    }

    @Test
    void negativeDurationFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.worker.kill-timeout=-1s").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.worker.killTimeout = PT-1S: must be longer than or equal to 0");
        });
    }

    @Test
    void balancingDefaultsToRoundRobinWithNoConcurrencyLimitAndBindsAsTheReadmeSpellsIt() {
        runner.run(context -> {
            FleetProperties properties = context.getBean(FleetProperties.class);
            assertThat(properties.proxy().balancer()).isEqualTo(Balancer.ROUND_ROBIN);
            assertThat(properties.worker().maxConcurrency()).isZero();
            assertThat(properties.worker().nodeAppInstance()).isTrue();
        });
        runner.withPropertyValues("fleet.proxy.balancer=least-request", "fleet.worker.max-concurrency=1",
                "fleet.worker.node-app-instance=false").run(context -> {
            FleetProperties properties = context.getBean(FleetProperties.class);
            assertThat(properties.proxy().balancer()).isEqualTo(Balancer.LEAST_REQUEST);
            assertThat(properties.worker().maxConcurrency()).isEqualTo(1);
            assertThat(properties.worker().nodeAppInstance()).isFalse();
        });
    }

    @Test
    void unknownBalancerFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.proxy.balancer=random").run(context -> {
            assertThat(context).hasFailed();
            assertThat(causes(context.getStartupFailure())).filteredOn(BindException.class::isInstance).singleElement()
                    .extracting(Throwable::getMessage).asString()
                    .startsWith("Failed to bind properties under 'fleet.proxy.balancer'");
        });
    }

    @Test
    void negativeMaxConcurrencyFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.worker.max-concurrency=-1").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.worker.maxConcurrency = -1: must be greater than or equal to 0");
        });
    }

    @Test
    void aNegativeLogRateLimitBurstFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.worker.log-rate-limit-burst=-1").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.worker.logRateLimitBurst = -1: must be greater than or equal to 0");
        });
    }

    @Test
    void aLogRateLimitIntervalOverADayFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.worker.log-rate-limit-interval=1000000000000d").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .startsWith("fleet.worker.logRateLimitInterval = ");
        });
    }

    @Test
    void aZeroLogRateLimitIntervalBindsAsNoLimit() {
        runner.withPropertyValues("fleet.worker.log-rate-limit-interval=0").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(FleetProperties.class).worker().logRateLimitInterval()).isZero();
        });
    }

    @Test
    void moreWorkersThanMaxWorkersFailsStartup() {
        runner.withPropertyValues("fleet.workers=10", "fleet.max-workers=5").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.workers must not be larger than fleet.max-workers (64 unless set)");
        });
    }

    @Test
    void aMinReadyTheFleetCanNeverReachFailsStartup() {
        runner.withPropertyValues("fleet.health.min-ready=100").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.health.min-ready must not be larger than fleet.max-workers (64 unless set): "
                            + "the fleet's health could never be UP");
        });
        runner.withPropertyValues("fleet.health.min-ready=64").run(context -> assertThat(context).hasNotFailed());
    }

    @Test
    void anEnvironmentGivenAsAListFailsStartup() {
        runner.withPropertyValues("fleet.worker.environment[0]=NODE_ENV=production").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.worker.environment takes names and values (in YAML, NAME: value keys under it), "
                            + "not a list of NAME=value");
        });
        runner.withPropertyValues("fleet.worker.environment.NODE_ENV=production").run(context -> assertThat(context).hasNotFailed());
    }

    @Test
    void workersUpToMaxWorkersStart() {
        runner.withPropertyValues("fleet.workers=5", "fleet.max-workers=5").run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(FleetProperties.class).desiredWorkers()).isEqualTo(5);
        });
    }

    @Test
    void aWorkingDirectoryThatIsNoDirectoryFailsStartupNamingTheProperty(@org.junit.jupiter.api.io.TempDir
                                                                          java.nio.file.Path temp) throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createFile(temp.resolve("file"));
        for (java.nio.file.Path bad : List.of(temp.resolve("missing"), file)) {
            runner.withPropertyValues("fleet.worker.working-directory=" + bad).run(context -> {
                assertThat(context).hasFailed();
                assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                        .endsWith(": fleet.worker.working-directory must be an existing directory (leave it unset "
                                + "for the master's)");
            });
        }
        runner.withPropertyValues("fleet.worker.working-directory=" + temp).run(context ->
                assertThat(context.getBean(FleetProperties.class).worker().workingDirectory()).isEqualTo(temp));
    }

    @Test
    void unknownStopSignalFailsStartup() {
        runner.withPropertyValues("fleet.worker.stop-signal=BOOM").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .startsWith("fleet.worker.stopSignal = BOOM: must be one of TERM, INT");
        });
    }

    /** Found by a new user's attack (2026-12-04): SIGTERM was refused here, taken by the API and the command line. */
    @Test
    void stopSignalMayBeSpeltInAnyCaseWithSig() {
        runner.withPropertyValues("fleet.worker.stop-signal=sigint").run(context ->
                assertThat(context.getBean(FleetProperties.class).worker().stopSignal()).isEqualTo("INT"));
        runner.withPropertyValues("fleet.worker.stop-signal=SIGTERM").run(context ->
                assertThat(context.getBean(FleetProperties.class).worker().stopSignal()).isEqualTo("TERM"));
    }

    @Test
    void defaultsAreTheOnesReadmeDocuments() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            FleetProperties fleet = context.getBean(FleetProperties.class);
            int cpus = Runtime.getRuntime().availableProcessors();

            assertThat(fleet.workers()).isNull();
            assertThat(fleet.desiredWorkers()).isEqualTo(Math.min(64, cpus));
            assertThat(fleet.maxWorkers()).isEqualTo(64);
            assertThat(fleet.admin().token()).isNull();
            assertThat(fleet.demo().crashWithin()).isNull();
            assertThat(fleet.demo().work()).isEqualTo(1_500_000L);
            assertThat(fleet.health().minReady()).isEqualTo(1);

            assertThat(fleet.liveness().failureThreshold()).isEqualTo(3);
            assertThat(fleet.liveness().interval()).isEqualTo(Duration.ofSeconds(5));
            assertThat(fleet.liveness().path()).isEqualTo("/health");
            assertThat(fleet.liveness().timeout()).isEqualTo(Duration.ofSeconds(2));

            FleetProperties.Proxy proxy = fleet.proxy();
            assertThat(proxy.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
            assertThat(proxy.eventLoops()).isZero();
            assertThat(proxy.eventLoopCount(3)).as("the transport's default when unset").isEqualTo(3);
            assertThat(proxy.transport()).isEqualTo(ProxyTransport.AUTO);
            assertThat(proxy.maxHeaderSize()).isEqualTo(DataSize.ofKilobytes(16));
            assertThat(proxy.maxInitialLineLength()).isEqualTo(DataSize.ofKilobytes(8));
            assertThat(proxy.queueLimit()).isEqualTo(10_000);
            assertThat(proxy.queueTimeout()).isEqualTo(Duration.ofSeconds(5));
            assertThat(proxy.responseTimeout()).isEqualTo(Duration.ofSeconds(60));
            assertThat(proxy.retry().budgetPercent()).isEqualTo(20);
            assertThat(proxy.retry().bufferLimit()).isEqualTo(DataSize.ofKilobytes(64));
            assertThat(proxy.retry().maxAttempts()).isEqualTo(3);
            assertThat(proxy.retry().minPerSecond()).isEqualTo(50);
            assertThat(proxy.trustedProxies()).as("Tomcat 11's RemoteIpValve internalProxies").containsExactly(
                    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
                    "::1/128", "fe80::/10", "fc00::/7");

            assertThat(fleet.readiness().interval()).isEqualTo(Duration.ofMillis(100));
            assertThat(fleet.readiness().path()).isEqualTo("/health");
            assertThat(fleet.readiness().timeout()).isEqualTo(Duration.ofSeconds(1));

            FleetProperties.Restart restart = fleet.restart();
            assertThat(restart.crashLoopRestarts()).isEqualTo(20);
            assertThat(restart.crashLoopWindow()).isEqualTo(Duration.ofMinutes(10));
            assertThat(restart.initialBackoff()).isEqualTo(Duration.ofMillis(100));
            assertThat(restart.maxBackoff()).isEqualTo(Duration.ofSeconds(30));
            assertThat(restart.multiplier()).isEqualTo(2.0);
            assertThat(restart.policy()).isEqualTo(RestartPolicy.ALWAYS);
            assertThat(restart.resetAfter()).isEqualTo(Duration.ofSeconds(10));
            assertThat(restart.minUptime()).isEqualTo(Duration.ofSeconds(1));

            FleetProperties.Worker worker = fleet.worker();
            assertThat(worker.command()).isEmpty();
            assertThat(worker.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
            assertThat(worker.environment()).isEmpty();
            assertThat(worker.killTimeout()).isEqualTo(Duration.ofSeconds(10));
            assertThat(worker.logLines()).isEqualTo(1000);
            assertThat(worker.logBytes()).isEqualTo(DataSize.ofKilobytes(256));
            assertThat(worker.logLineLength()).isEqualTo(DataSize.ofKilobytes(8));
            assertThat(worker.logRateLimitInterval()).isEqualTo(Duration.ofSeconds(30));
            assertThat(worker.logRateLimitBurst()).isEqualTo(10_000);
            assertThat(worker.retiredLogs()).isEqualTo(16);
            assertThat(worker.startupTimeout()).isEqualTo(Duration.ofSeconds(60));
            assertThat(worker.stopSignal()).isEqualTo("TERM");
            assertThat(worker.workingDirectory()).isNull();
        });
    }

    @Test
    void logFilesAreOffByDefaultAndBoundedWhenOn() {
        runner.run(context -> {
            FleetProperties.Worker worker = context.getBean(FleetProperties.class).worker();
            assertThat(worker.logDirectory()).isNull();
            assertThat(worker.logFileMaxSize()).isEqualTo(DataSize.ofMegabytes(10));
            assertThat(worker.logFileMaxFiles()).isEqualTo(5);
        });
    }

    @Test
    void aLogDirectoryThatIsNoDirectoryFailsStartupNamingTheProperty(@org.junit.jupiter.api.io.TempDir java.nio.file.Path directory) {
        runner.withPropertyValues("fleet.worker.log-directory=" + directory.resolve("missing")).run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.worker.log-directory must be an existing directory the master can write to "
                            + "(leave it unset for no files)");
        });
        runner.withPropertyValues("fleet.worker.log-directory=" + directory).run(context -> assertThat(context).hasNotFailed());
    }

    /** Found by an attacking helper: links and FIFOs planted in a shared log directory took a root master's writes. */
    @Test
    void aLogDirectoryOthersCanWriteToFailsStartupNamingTheProperty(@org.junit.jupiter.api.io.TempDir java.nio.file.Path directory)
            throws java.io.IOException {
        java.nio.file.Path shared = java.nio.file.Files.createDirectory(directory.resolve("shared"));
        java.nio.file.Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        runner.withPropertyValues("fleet.worker.log-directory=" + shared).run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.worker.log-directory must not be writable by other users (its group or others "
                            + "have write permission, or another user owns it): a link or a FIFO planted there would "
                            + "take the master's writes; give a directory the master's user (or root) owns and only it "
                            + "writes to");
        });
        java.nio.file.Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        runner.withPropertyValues("fleet.worker.log-directory=" + shared).run(context -> assertThat(context).hasNotFailed());
    }

    /**
     * Found by a re-attacking helper: a 0755 directory another user owned was taken, and that user's FIFO at a log
     * file's name hung the master. Needs root, to give the directory away.
     */
    @Test
    void aLogDirectoryAnotherUserOwnsFailsStartup(@org.junit.jupiter.api.io.TempDir java.nio.file.Path directory)
            throws Exception {
        org.assertj.core.api.Assumptions.assumeThat(java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"),
                "unix:uid")).as("giving a directory to another user needs root").isEqualTo(0);
        java.nio.file.Path theirs = java.nio.file.Files.createDirectory(directory.resolve("theirs"));
        java.nio.file.Files.setAttribute(theirs, "unix:uid", 65534);
        runner.withPropertyValues("fleet.worker.log-directory=" + theirs).run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .contains("fleet.worker.log-directory must not be writable by other users", "another user owns it");
        });
    }

    @Test
    void logFileSizesAndCountsOutOfRangeFailStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.worker.log-file-max-size=4KB").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.worker.log-file-max-size must be between 1KB and 10GB, and at least "
                            + "fleet.worker.log-line-length");
        });
        runner.withPropertyValues("fleet.worker.log-file-max-files=0").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.worker.logFileMaxFiles = 0: must be greater than or equal to 1");
        });
    }

    @Test
    void logBytesBelowTheLineLengthFailsStartupNamingBothProperties() {
        runner.withPropertyValues("fleet.worker.log-bytes=4KB", "fleet.worker.log-line-length=8KB").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.worker.log-bytes must be between 1KB and 64MB, and at least fleet.worker.log-line-length");
        });
    }

    @Test
    void anAppCookieNamedLikeTheProxysOwnFailsStartupNamingBothProperties() {
        runner.withPropertyValues("fleet.proxy.sticky.cookie=SRV", "fleet.proxy.sticky.app-cookie=SRV").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.proxy.sticky.app-cookie must not be the name of fleet.proxy.sticky.cookie, "
                            + "which the proxy sets itself");
        });
    }

    @Test
    void aMaxEjectionTimeShorterThanTheBaseFailsStartupNamingBothProperties() {
        runner.withPropertyValues("fleet.proxy.outlier-detection.base-ejection-time=60s",
                "fleet.proxy.outlier-detection.max-ejection-time=30s").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.proxy.outlier-detection.max-ejection-time must not be shorter than "
                            + "fleet.proxy.outlier-detection.base-ejection-time");
        });
    }

    @Test
    void outlierDetectionBindsEnvoysNamesAndIsOffByDefault() {
        runner.run(context -> assertThat(context.getBean(FleetProperties.class).proxy().outlierDetection().consecutive5xx()).isZero());
        runner.withPropertyValues("fleet.proxy.outlier-detection.consecutive-5xx=5").run(context -> {
            FleetProperties.OutlierDetection detection = context.getBean(FleetProperties.class).proxy().outlierDetection();
            assertThat(detection.consecutive5xx()).isEqualTo(5);
            assertThat(detection.ejectionTime(1)).hasSeconds(30);
            assertThat(detection.ejectionTime(20)).hasSeconds(300);
        });
    }

    @Test
    void bothStickyCookiesMayBeSet() {
        runner.withPropertyValues("fleet.proxy.sticky.cookie=SRV", "fleet.proxy.sticky.app-cookie=JSESSIONID")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    FleetProperties.Sticky sticky = context.getBean(FleetProperties.class).proxy().sticky();
                    assertThat(sticky.appCookie()).isEqualTo("JSESSIONID");
                    assertThat(sticky.appCookieMaxEntries()).isEqualTo(100_000);
                });
    }

    @ParameterizedTest
    @ValueSource(strings = {"a b", "=", "SRV=1", "a;b", "\"SRV\"", "SRV,x"})
    void aStickyCookieThatIsNoCookieNameFailsStartupNamingTheProperty(String name) {
        runner.withPropertyValues("fleet.proxy.sticky.cookie=" + name).run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.proxy.sticky.cookie = " + name + ": must be a cookie name (an RFC 6265 token)");
        });
    }

    @Test
    void anEmptyStickyCookieIsUnsetSoThatAnEmptyVariableTurnsStickinessOff() {
        runner.withPropertyValues("fleet.proxy.sticky.cookie=", "fleet.proxy.sticky.app-cookie= ").run(context -> {
            assertThat(context).hasNotFailed();
            FleetProperties.Sticky sticky = context.getBean(FleetProperties.class).proxy().sticky();
            assertThat(sticky.cookie()).isNull();
            assertThat(sticky.appCookie()).isNull();
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"fleet.readiness.path=health", "fleet.liveness.path=/a b", "fleet.readiness.path=/é"})
    void aProbePathThatIsNoPathFailsStartupNamingTheProperty(String setting) {
        runner.withPropertyValues(setting).run(context -> {
            assertThat(context).hasFailed();
            String property = setting.substring(0, setting.indexOf('='));
            assertThat(validationErrors(context.getStartupFailure())).containsExactly(property + " = "
                    + setting.substring(property.length() + 1) + ": must be empty (a TCP connect) or a path that starts "
                    + "with '/', in visible ASCII, such as \"/health\"");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/", "/ready?deep=1"})
    void anEmptyProbePathOrOneThatStartsWithASlashStarts(String path) {
        runner.withPropertyValues("fleet.readiness.path=" + path, "fleet.liveness.path=" + path)
                .run(context -> assertThat(context).hasNotFailed());
    }

    @Test
    void anAppCookieThatIsNoCookieNameFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.proxy.sticky.app-cookie=JSESSION ID").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure()))
                    .containsExactly("fleet.proxy.sticky.appCookie = JSESSION ID: must be a cookie name (an RFC 6265 token)");
        });
    }

    @Test
    void logLineLengthAboveOneMegabyteFailsStartupNamingTheProperty() {
        runner.withPropertyValues("fleet.worker.log-line-length=2MB", "fleet.worker.log-bytes=4MB").run(context -> {
            assertThat(context).hasFailed();
            assertThat(validationErrors(context.getStartupFailure())).singleElement().asString()
                    .endsWith(": fleet.worker.log-line-length must be between 64B and 1MB");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/33", "fc00::/129", "10/8", "10.0.0.0/-1", "10.0.0.0/8/9", "10.0.0.0/",
            "256.1.1.1/8", "shop.example", "lb.internal/24", "[::1]", "fe80::1%eth0", "fc00::/x"})
    void trustedProxyThatIsNoAddressOrRangeFailsStartupNamingThePropertyAndTheEntry(String entry) {
        runner.withPropertyValues("fleet.proxy.trusted-proxies[0]=10.0.0.0/8", "fleet.proxy.trusted-proxies[1]=" + entry)
                .run(context -> {
                    assertThat(context).hasFailed();
                    assertThat(validationErrors(context.getStartupFailure())).containsExactly("fleet.proxy.trustedProxies[1] = "
                            + entry + ": must be an IP address or a CIDR range such as 10.0.0.0/8 or fc00::/7");
                });
    }

    @Test
    void trustedProxiesTakeAddressesAndRangesOfBothFamilies() {
        runner.withPropertyValues("fleet.proxy.trusted-proxies=10.0.0.0/8,203.0.113.5,2001:db8::/32,::1").run(context ->
                assertThat(context.getBean(FleetProperties.class).proxy().trustedProxies())
                        .containsExactly("10.0.0.0/8", "203.0.113.5", "2001:db8::/32", "::1"));
    }

    @Test
    void emptyTrustedProxiesTrustNobody() {
        runner.withPropertyValues("fleet.proxy.trusted-proxies=").run(context ->
                assertThat(context.getBean(FleetProperties.class).proxy().trustedProxies()).isEmpty());
    }

    @Test
    void restartPolicyBindsFromItsReadmeSpelling() {
        runner.withPropertyValues("fleet.restart.policy=on-failure").run(context ->
                assertThat(context.getBean(FleetProperties.class).restart().policy()).isEqualTo(RestartPolicy.ON_FAILURE));
    }

    @Test
    void stateFileIsUnsetByDefaultAndBindsAsAPath() {
        runner.run(context -> assertThat(context.getBean(FleetProperties.class).stateFile()).isNull());
        runner.withPropertyValues("fleet.state-file=/var/lib/shepherd/state.json").run(context ->
                assertThat(context.getBean(FleetProperties.class).stateFile())
                        .isEqualTo(java.nio.file.Path.of("/var/lib/shepherd/state.json")));
    }

    /** The failure and its causes, outermost first. */
    private static List<Throwable> causes(Throwable failure) {
        List<Throwable> causes = new ArrayList<>();
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            causes.add(cause);
        }
        return causes;
    }

    /**
     * The validation errors as Boot's startup failure report names them ("Property: fleet.workers",
     * "Value: ...", "Reason: ..."): {@code property = value: reason}.
     */
    private static List<String> validationErrors(Throwable failure) {
        BindValidationException validation = causes(failure).stream().filter(BindValidationException.class::isInstance)
                .map(BindValidationException.class::cast).findFirst()
                .orElseThrow(() -> new AssertionError("no validation error in " + causes(failure)));
        return validation.getValidationErrors().getAllErrors().stream().map(FieldError.class::cast)
                .map(error -> error.getObjectName() + "." + error.getField() + " = " + error.getRejectedValue() + ": "
                        + error.getDefaultMessage())
                .toList();
    }
}
