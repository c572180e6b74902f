package dev.shepherd;

import org.junit.jupiter.api.Test;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A {@code server.*} or {@code management.*} name Spring Boot has no setting for is warned about. */
class UnknownSpringSettingsTests {

    private static final UnknownSpringSettings.Metadata METADATA =
            UnknownSpringSettings.metadata(UnknownSpringSettingsTests.class.getClassLoader());

    @Test
    void theMetadataOfTheClassPathIsRead() {
        assertThat(METADATA.known()).contains("server.port", "server.address", "management.server.port",
                "management.endpoints.web.exposure.include", "server.ssl.key-store")
                .allSatisfy(name -> assertThat(name).matches("(server|management)\\..+"));
    }

    @Test
    void aMisspeltNameIsWarnedAboutWithTheOneItMeant() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.prot", "management.server.prot", "server.frobnicate"), METADATA))
                .containsExactly(
                        "management.server.prot is no setting of Spring Boot's here and is ignored; did you mean "
                                + "management.server.port?",
                        "server.frobnicate is no setting of Spring Boot's here and is ignored",
                        "server.prot is no setting of Spring Boot's here and is ignored; did you mean server.port?");
    }

    @Test
    void aMisspeltServerOrManagementIsWarnedAboutToo() {
        assertThat(UnknownSpringSettings.warnings(List.of("managment.server.port", "sever.port", "serve.port",
                "logging.level.root", "spring.main.banner-mode"), METADATA)).containsExactly(
                "managment.server.port is no setting of Spring Boot's here and is ignored; did you mean management.server.port?",
                "serve.port is no setting of Spring Boot's here and is ignored; did you mean server.port?",
                "sever.port is no setting of Spring Boot's here and is ignored; did you mean server.port?");
    }

    /**
     * Names Spring Boot documents as removed (deprecated at level error) were taken as known, so a name carried over
     * from Boot 2 or 3 was silent, and suggested for others (found by an attacking helper).
     */
    @Test
    void aRemovedNameIsWarnedAboutWithItsReplacementAndNeverSuggested() {
        assertThat(METADATA.removed()).containsKey("server.max-http-header-size");
        assertThat(METADATA.known()).doesNotContain("server.max-http-header-size", "server.connection-timeout");

        assertThat(UnknownSpringSettings.warnings(List.of("server.max-http-header-size", "server.netty.connection-timeout"),
                METADATA)).containsExactly(
                "server.max-http-header-size was removed from Spring Boot and is ignored; use "
                        + "server.max-http-request-header-size",
                "server.netty.connection-timeout is no setting of Spring Boot's here and is ignored; did you mean "
                        + "server.tomcat.connection-timeout?");
    }

    @Test
    void everySpellingSpringBootBindsIsQuiet() {
        assertThat(UnknownSpringSettings.warnings(List.of(
                "server.port", "server.PORT", "server.ssl.keyStore", "server.ssl.key_store", "server.ssl.key-store",
                "management.endpoints.web.exposure.include[0]", "management.metrics.tags.region",
                "management.endpoint.health.group.live.include", "fleet.workers", "spring.main.banner-mode",
                "java.home", "serverport"), METADATA)).isEmpty();
    }

    /** The defaults' source is left out of the check at startup: its names are checked here instead. */
    @Test
    void shepherdsOwnDefaultsNameOnlySettingsSpringBootHas() throws Exception {
        List<String> names = new ArrayList<>();
        for (PropertySource<?> source : new YamlPropertySourceLoader().load("defaults",
                new ClassPathResource(BuiltInDefaults.RESOURCE))) {
            names.addAll(List.of(((EnumerablePropertySource<?>) source).getPropertyNames()));
        }

        assertThat(names).contains("server.tomcat.max-connections", "management.endpoints.web.exposure.include");
        assertThat(UnknownSpringSettings.warnings(names, METADATA)).isEmpty();
    }

    @Test
    void aNameInUpperCaseIsCheckedAsSpringBootBindsIt() {
        assertThat(UnknownSpringSettings.warnings(List.of("SERVER.PROT", "MANAGEMENT.SERVER.PORT"), METADATA))
                .containsExactly("SERVER.PROT is no setting of Spring Boot's here and is ignored; did you mean server.port?");
    }

    @Test
    void aVeryLongNameIsWarnedAboutWithoutAGuess() {
        assertThat(UnknownSpringSettings.warnings(List.of("server." + "a".repeat(100_000)), METADATA)).singleElement()
                .asString().endsWith("is no setting of Spring Boot's here and is ignored");
    }

    /** Names below any known one were taken as known: only a map or a list takes names below its own. */
    @Test
    void aNameBelowAPlainSettingIsWarnedAboutAndMimeMappingsAreKnown() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.ssl.key-store.password", "server.tomcat.threads.max.x",
                "server.mime-mappings.wasm", "server.tomcat.additional-tld-skip-patterns[0]",
                "management.metrics.tags.region"), METADATA)).containsExactly(
                "server.ssl.key-store.password is no setting of Spring Boot's here and is ignored; did you mean "
                        + "server.ssl.key-store-password?",
                "server.tomcat.threads.max.x is no setting of Spring Boot's here and is ignored; did you mean "
                        + "server.tomcat.threads.max?");
    }

    @Test
    void nothingIsWarnedAboutWithoutMetadata() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.prot"), new UnknownSpringSettings.Metadata(List.of(), List.of(), Map.of()))).isEmpty();
    }

    @Test
    void aNameIsShownInCaretNotation() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.p\u001b[2Jort"), METADATA)).singleElement().asString()
                .startsWith("server.p^[[2Jort is no setting");
    }

    /** The metadata does not describe a health group's names: a misspelt include left the group including everything. */
    @Test
    void aNameBelowAKeyOfAMapOfObjectsIsCheckedByBindingTheMap() {
        assertThat(METADATA.objectMaps()).containsKey("management.endpoint.health.group");
        Map<String, Object> set = Map.of(
                "management.endpoint.health.group.readiness.inclde", "readinessState",
                "management.endpoint.health.group.readiness.show-details", "always",
                "management.endpoint.health.group.liveness.include", "livenessState,ping",
                "management.endpoint.health.group.liveness.status.order", "down,up",
                "management.endpoint.health.group.liveness.additional-path", "server:/livez",
                "management.endpoint.health.group.custom.showDetails", "never",
                "management.endpoint.health.group.custom.show-components", "always",
                "management.endpoint.health.group.custom.roles", "admin",
                "management.endpoint.health.group.custom.exclude[0]", "db",
                "management.endpoint.health.group.custom.status.http-mapping.down", "503");
        Binder binder = new Binder(ConfigurationPropertySources.from(new MapPropertySource("test", set)));

        assertThat(UnknownSpringSettings.objectMapWarnings(set.keySet(), METADATA.objectMaps(), binder,
                getClass().getClassLoader())).containsExactly("management.endpoint.health.group.readiness.inclde is no "
                + "setting of Spring Boot's here and is ignored: management.endpoint.health.group.<name> takes "
                + "additional-path, exclude, include, roles, show-components, show-details, status");
        assertThat(UnknownSpringSettings.warnings(set.keySet(), METADATA)).as("the names checked as before").isEmpty();
    }

    @Test
    void aMapThatCannotBeBoundOrAClassThatIsNotThereGivesNoWarning() {
        Map<String, Object> set = Map.of("management.endpoint.health.group.readiness.show-details", "sometimes",
                "management.endpoint.health.group.readiness.inclde", "x");
        Binder binder = new Binder(ConfigurationPropertySources.from(new MapPropertySource("test", set)));

        assertThat(UnknownSpringSettings.objectMapWarnings(set.keySet(), Map.of("management.endpoint.health.group",
                "org.springframework.NoSuchClass"), binder, getClass().getClassLoader())).isEmpty();
        assertThat(UnknownSpringSettings.mapValues("java.util.Map<java.lang.String,java.lang.String>")).isNull();
        assertThat(UnknownSpringSettings.mapValues("java.util.Map<java.lang.String,org.springframework.X$Y[]>")).isNull();
        assertThat(UnknownSpringSettings.mapValues("java.util.Map<java.lang.String,org.springframework.X$Y>"))
                .isEqualTo("org.springframework.X$Y");
    }
}
