package dev.shepherd;

import org.junit.jupiter.api.Test;

import java.util.Collection;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** A {@code server.*} or {@code management.*} name Spring Boot has no setting for is warned about. */
class UnknownSpringSettingsTests {

    private static final Collection<String> KNOWN = UnknownSpringSettings.known(UnknownSpringSettingsTests.class.getClassLoader());

    @Test
    void theMetadataOfTheClassPathIsRead() {
        assertThat(KNOWN).contains("server.port", "server.address", "management.server.port",
                "management.endpoints.web.exposure.include", "server.ssl.key-store")
                .allSatisfy(name -> assertThat(name).matches("(server|management)\\..+"));
    }

    @Test
    void aMisspeltNameIsWarnedAboutWithTheOneItMeant() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.prot", "management.server.prot", "server.frobnicate"), KNOWN))
                .containsExactly(
                        "management.server.prot is no setting of Spring Boot's here and is ignored; did you mean "
                                + "management.server.port?",
                        "server.frobnicate is no setting of Spring Boot's here and is ignored",
                        "server.prot is no setting of Spring Boot's here and is ignored; did you mean server.port?");
    }

    @Test
    void aMisspeltServerOrManagementIsWarnedAboutToo() {
        assertThat(UnknownSpringSettings.warnings(List.of("managment.server.port", "sever.port", "serve.port",
                "logging.level.root", "spring.main.banner-mode"), KNOWN)).containsExactly(
                "managment.server.port is no setting of Spring Boot's here and is ignored; did you mean management.server.port?",
                "serve.port is no setting of Spring Boot's here and is ignored; did you mean server.port?",
                "sever.port is no setting of Spring Boot's here and is ignored; did you mean server.port?");
    }

    @Test
    void everySpellingSpringBootBindsIsQuiet() {
        assertThat(UnknownSpringSettings.warnings(List.of(
                "server.port", "server.PORT", "server.ssl.keyStore", "server.ssl.key_store", "server.ssl.key-store",
                "management.endpoints.web.exposure.include[0]", "management.metrics.tags.region",
                "management.endpoint.health.group.live.include", "fleet.workers", "spring.main.banner-mode",
                "java.home", "serverport"), KNOWN)).isEmpty();
    }

    @Test
    void nothingIsWarnedAboutWithoutMetadata() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.prot"), List.of())).isEmpty();
    }

    @Test
    void aNameIsShownInCaretNotation() {
        assertThat(UnknownSpringSettings.warnings(List.of("server.p\u001b[2Jort"), KNOWN)).singleElement().asString()
                .startsWith("server.p^[[2Jort is no setting");
    }
}
