package dev.shepherd;

import dev.shepherd.fleet.FleetProperties;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.util.unit.DataSize;

import static org.assertj.core.api.Assertions.assertThat;

/** PM2's and nginx's one-letter sizes in settings, as a new user wrote {@code fleet.worker.max-memory: 300M} in YAML. */
class OneLetterSizesTests {

    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(FleetProperties.class)
    @Import(OneLetterSizes.class)
    static class Config {
    }

    private final ApplicationContextRunner runner = new ApplicationContextRunner().withUserConfiguration(Config.class);

    @Test
    void oneLetterUnitsAreSpringsUnitsWithB() {
        runner.withPropertyValues("fleet.worker.max-memory=300M", "fleet.proxy.client-max-body-size=10m",
                "fleet.proxy.response-temp-max-size=2g", "fleet.worker.log-line-length=16K").run(context -> {
                    FleetProperties properties = context.getBean(FleetProperties.class);
                    assertThat(properties.worker().maxMemory()).isEqualTo(DataSize.ofMegabytes(300));
                    assertThat(properties.proxy().clientMaxBodySize()).isEqualTo(DataSize.ofMegabytes(10));
                    assertThat(properties.proxy().responseTempMaxSize()).isEqualTo(DataSize.ofGigabytes(2));
                    assertThat(properties.worker().logLineLength()).isEqualTo(DataSize.ofKilobytes(16));
                });
    }

    @Test
    void springsOwnFormsAndBareBytesAreReadAsBefore() {
        runner.withPropertyValues("fleet.worker.max-memory=300MB", "fleet.worker.log-line-length=4096").run(context -> {
            FleetProperties properties = context.getBean(FleetProperties.class);
            assertThat(properties.worker().maxMemory()).isEqualTo(DataSize.ofMegabytes(300));
            assertThat(properties.worker().logLineLength()).isEqualTo(DataSize.ofBytes(4096));
        });
    }

    @Test
    void anythingElseStillFails() {
        runner.withPropertyValues("fleet.worker.max-memory=300 megs").run(context ->
                assertThat(context.getStartupFailure()).hasStackTraceContaining("300 megs"));
        runner.withPropertyValues("fleet.worker.max-memory=300Q").run(context ->
                assertThat(context.getStartupFailure()).isNotNull());
    }

    @Test
    void theConversionItselfKeepsEverythingButOneLetterUnits() {
        assertThat(OneLetterSizes.spring("300M")).isEqualTo("300MB");
        assertThat(OneLetterSizes.spring(" 2t ")).isEqualTo("2TB");
        assertThat(OneLetterSizes.spring("300MB")).isEqualTo("300MB");
        assertThat(OneLetterSizes.spring("300")).isEqualTo("300");
        assertThat(OneLetterSizes.spring("M")).isEqualTo("M");
    }
}
