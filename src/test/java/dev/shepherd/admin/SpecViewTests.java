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

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            postgres://app:pw0rd@db:5432/shop          | postgres://app:******@db:5432/shop
            redis://:pw0rd@cache:6379/0                | redis://:******@cache:6379/0
            amqp://guest@mq/vhost                      | amqp://******@mq/vhost
            https://example.com/a:b@c                  | https://example.com/a:b@c
            mongodb+srv://u:p%40ss@cluster.example.net | mongodb+srv://u:******@cluster.example.net
            production                                 | production
            """)
    void thePasswordOfAUrlInAnyVariableIsMaskedAsSpringBootDidForUrls(String value, String shown) {
        // DATABASE_URL and REDIS_URL carry their password in the URL (Heroku's convention, and many platforms'); a
        // user info without a password is masked whole, since it may be the key (Sentry's DSN, a GitHub token).
        assertThat(SpecView.of(new WorkerSpec(List.of(), Map.of("DATABASE_URL", value), null, "")).environment())
                .containsExactly(Map.entry("DATABASE_URL", shown));
    }
}
