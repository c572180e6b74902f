package dev.shepherd.admin;

import dev.shepherd.fleet.WorkerSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SpecViewTests {

    @ParameterizedTest(name = "{0} masked: {1}")
    @CsvSource(textBlock = """
            GITHUB_TOKEN,          true
            api_key,               true
            MY_SECRET_VALUE,       true
            DB_PASSWORD,           true
            mysql_passwd,          true
            AWS_CREDENTIALS_FILE,  true
            Keycloak_URL,          true
            VCAP_SERVICES,         true
            spring_application_json, true
            NODE_ENV,              false
            FEATURE_X,             false
            PORT,                  false
            VCAP_APPLICATION,      false
            """)
    void secretWordsInAVariableNameMaskItsValue(String name, boolean masked) {
        assertThat(SpecView.secret(name)).isEqualTo(masked);
    }

    @Test
    void viewMasksSecretValuesAndKeepsTheRest() {
        WorkerSpec spec = new WorkerSpec(List.of("node", "app.js"), Map.of("API_TOKEN", "abc123", "NODE_ENV", "production"),
                Path.of("/srv/app"), "/health");

        SpecView view = SpecView.of(spec);

        assertThat(view.environment()).containsExactly(Map.entry("API_TOKEN", "******"), Map.entry("NODE_ENV", "production"));
        assertThat(view.command()).containsExactly("node", "app.js");
        assertThat(view.workingDirectory()).isEqualTo("/srv/app");
        assertThat(view.readinessPath()).isEqualTo("/health");
    }
}
