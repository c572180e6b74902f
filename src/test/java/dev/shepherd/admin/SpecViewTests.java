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

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            node,app.js,--port={port}                   | node,app.js,--port={port}
            java,-Dapi.key=abc,-jar,app.jar             | java,-Dapi.key=******,-jar,app.jar
            app,--db.password=pw0rd,--name=x            | app,--db.password=******,--name=x
            app,--token,abc123,--verbose                | app,--token,******,--verbose
            app,--api-key,k1,--api-key,k2               | app,--api-key,******,--api-key,******
            app,SECRET=s,plain=p                        | app,SECRET=******,plain=p
            app,--db,postgres://app:pw0rd@db/shop       | app,--db,postgres://app:******@db/shop
            /opt/token-service/run,--port=8080          | /opt/token-service/run,--port=8080
            """)
    void secretsInTheCommandsArgumentsAreMaskedAndTheProgramIsShownAsItIs(String command, String shown) {
        assertThat(SpecView.of(new WorkerSpec(List.of(command.split(",")), Map.of(), null, "")).command())
                .containsExactly(shown.split(","));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            postgres://app:pw0rd@db:5432/shop          | postgres://app:******@db:5432/shop
            redis://:pw0rd@cache:6379/0                | redis://:******@cache:6379/0
            amqp://guest@mq/vhost                      | amqp://guest@mq/vhost
            https://example.com/a:b@c                  | https://example.com/a:b@c
            mongodb+srv://u:p%40ss@cluster.example.net | mongodb+srv://u:******@cluster.example.net
            production                                 | production
            """)
    void thePasswordOfAUrlInAnyVariableIsMaskedAsSpringBootDidForUrls(String value, String shown) {
        // DATABASE_URL and REDIS_URL carry their password in the URL (Heroku's convention, and many platforms').
        assertThat(SpecView.of(new WorkerSpec(List.of(), Map.of("DATABASE_URL", value), null, "")).environment())
                .containsExactly(Map.entry("DATABASE_URL", shown));
    }
}
