package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SecretsTests {

    @ParameterizedTest(name = "{0} masked: {1}")
    @CsvSource(textBlock = """
            GITHUB_TOKEN,            true
            api_key,                 true
            MY_SECRET_VALUE,         true
            DB_PASSWORD,             true
            mysql_passwd,            true
            AWS_CREDENTIALS_FILE,    true
            Keycloak_URL,            true
            VCAP_SERVICES,           true
            spring_application_json, true
            spring.application.json, true
            --spring-application-json, true
            SENTRY_DSN,              true
            JWT_SIGNING,             true
            AUTH,                    true
            GPG_PASSPHRASE,          true
            PRIVATE_PEM,             true
            HASH_SALT,               true
            NODE_ENV,                false
            FEATURE_X,               false
            PORT,                    false
            VCAP_APPLICATION,        false
            """)
    void secretWordsInANameMaskItsValue(String name, boolean masked) {
        assertThat(Secrets.secretName(name)).isEqualTo(masked);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            node;app.js;--port={port}                          | node;app.js;--port={port}
            java;-Dapi.key=abc;-jar;app.jar                    | java;-Dapi.key=******;-jar;app.jar
            app;--db.password=pw0rd;--name=x                   | app;--db.password=******;--name=x
            app;--token;abc123;--verbose                       | app;--token;******;--verbose
            app;--api-key;k1;--api-key;k2                      | app;--api-key;******;--api-key;******
            app;--no-password;--port;8080                      | app;--no-password;--port;8080
            app;SECRET=s;plain=p                               | app;SECRET=******;plain=p
            app;--db;postgres://app:pw0rd@db/shop              | app;--db;postgres://app:******@db/shop
            app;--db-url=postgres://app:pw0rd@db/shop          | app;--db-url=postgres://app:******@db/shop
            app;--url=jdbc:postgresql://app:pw0rd@db/shop      | app;--url=jdbc:postgresql://app:******@db/shop
            java;--spring.application.json={"a":1};-jar;x.jar  | java;--spring.application.json=******;-jar;x.jar
            sh;-c;node app.js --token=abc  --port 3000         | sh;-c;node app.js --token=******  --port 3000
            sh;-c;exec node app.js --api-key k1 > log          | sh;-c;exec node app.js --api-key ****** > log
            /opt/token-service/run;--port=8080                 | /opt/token-service/run;--port=8080
            """)
    void secretsInACommandsArgumentsAreMaskedAndTheProgramIsShownAsItIs(String command, String shown) {
        assertThat(Secrets.command(List.of(command.split(";")))).containsExactly(shown.split(";"));
    }

    @Test
    void aSecretInAShellCommandKeepsTheQuotesAroundIt() {
        // Found by an attacking helper: the closing quote went with the value.
        assertThat(Secrets.command(List.of("sh", "-c", "\"node app.js --token=abc\"")))
                .containsExactly("sh", "-c", "\"node app.js --token=******\"");
        assertThat(Secrets.command(List.of("sh", "-c", "node app.js --token='abc' --key \"k1\" --port 3")))
                .containsExactly("sh", "-c", "node app.js --token='******' --key \"******\" --port 3");
        assertThat(Secrets.command(List.of("sh", "-c", "app --token=\"\" --key ''"))).containsExactly("sh", "-c",
                "app --token=\"******\" --key '******'");
        // A quoted value with spaces is one word, as the shell reads it: no part of it shows.
        assertThat(Secrets.command(List.of("sh", "-c", "app --token=\"a b\" --key 'c  d' --password=\"e\\\" f\" x")))
                .containsExactly("sh", "-c", "app --token=\"******\" --key '******' --password=\"******\" x");
        // A header line: the value after a secret header's name and after an authentication scheme.
        assertThat(Secrets.command(List.of("curl", "-H", "Authorization: Bearer abc", "-H", "X-Api-Key: k1", "-H",
                "Accept: text/plain", "http://x"))).containsExactly("curl", "-H", "Authorization: ******", "-H",
                "X-Api-Key: ******", "-H", "Accept: text/plain", "http://x");
        assertThat(Secrets.command(List.of("sh", "-c", "curl -H 'authorization: basic dXNlcjpwdw==' http://x")))
                .containsExactly("sh", "-c", "curl -H 'authorization: ******' http://x");
        assertThat(Secrets.command(List.of("curl", "--header=Authorization: Bearer abc", "--data=token=t1")))
                .containsExactly("curl", "--header=Authorization: ******", "--data=token=******");
    }

    @Test
    void aLongChainOfNamesAndValuesIsReadWithoutRecursion() {
        String chain = "--x=" + "a=".repeat(40_000) + "token=t1";

        assertThat(Secrets.command(List.of("app", chain))).containsExactly("app", "--x=" + "a=".repeat(40_000) + "token=******");
        assertThat(Secrets.environmentValue("OPTS", chain)).endsWith("token=******");
    }

    /** Found by an attacking helper: each of these showed a secret whole or in part. */
    @Test
    void quotedUrlsDashedValuesQuotedOptionsAndOtherSchemesAreMasked() {
        assertThat(Secrets.command(List.of("sh", "-c", "DATABASE_URL='postgres://app:S3CRET@db/shop' exec node w.js "
                + "--db \"redis://:R3DIS@cache:6379\" --sentry \"https://KEY@sentry.io/1\""))).containsExactly("sh", "-c",
                "DATABASE_URL='postgres://app:******@db/shop' exec node w.js --db \"redis://:******@cache:6379\" "
                        + "--sentry \"https://******@sentry.io/1\"");
        assertThat(Secrets.command(List.of("app", "\"postgres://u:abc@db/x\"", "postgres://u:p@ss@db/x",
                "postgres://u:pa/ss@db/x"))).containsExactly("app", "\"postgres://u:******@db/x\"",
                "postgres://u:******@db/x", "postgres://u:******@db/x");
        assertThat(Secrets.command(List.of("node", "app.js", "--password", "-s3cr3t", "--token", "--verbose")))
                .containsExactly("node", "app.js", "--password", "******", "--token", "--verbose");
        assertThat(Secrets.command(List.of("sh", "-c", "node app.js '--token' 'abc def' \"--api-key\" k1")))
                .containsExactly("sh", "-c", "node app.js '--token' '******' \"--api-key\" ******");
        assertThat(Secrets.command(List.of("curl", "-H", "Authorization: Token abc123", "-H", "Authorization:Bearer abc",
                "-H", "Cookie: session=abc", "--pass", "p1", "--pw=p2"))).containsExactly("curl", "-H",
                "Authorization: ******", "-H", "Authorization:******", "-H", "Cookie: ******", "--pass", "******", "--pw=******");
    }

    /** curl's {@code -u user:password}: only the password is masked; other programs' {@code -u} show as they are. */
    @Test
    void theUserPasswordOfCurlsUserOptionsIsMasked() {
        assertThat(Secrets.command(List.of("curl", "-u", "app:s3cret", "--proxy-user=p:pw", "-U", "'q:x y'",
                "--user", "bob", "http://x"))).containsExactly("curl", "-u", "app:******", "--proxy-user=p:******",
                "-U", "'q:******'", "--user", "bob", "http://x");
        assertThat(Secrets.command(List.of("sh", "-c", "curl -fsS -u admin:\"pa ss\" http://localhost:8080/health")))
                .containsExactly("sh", "-c", "curl -fsS -u admin:\"******\" http://localhost:8080/health");
        assertThat(Secrets.command(List.of("python3", "-u", "app.py", "--port", "8080")))
                .containsExactly("python3", "-u", "app.py", "--port", "8080");
        assertThat(Secrets.command(List.of("sudo", "-u", "www-data", "node", "app.js")))
                .containsExactly("sudo", "-u", "www-data", "node", "app.js");
        // Only curl's (a reviewing helper's): docker's -u is a uid:gid, and curl's --cert takes file:password too.
        assertThat(Secrets.command(List.of("docker", "run", "-u", "1000:1000", "img")))
                .containsExactly("docker", "run", "-u", "1000:1000", "img");
        assertThat(Secrets.command(List.of("/usr/bin/curl", "--cert", "c.pem:pw", "-E", "d.pem:pw2", "https://x")))
                .containsExactly("/usr/bin/curl", "--cert", "c.pem:******", "-E", "d.pem:******", "https://x");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            DATABASE_URL | postgres://app:pw0rd@db:5432/shop | postgres://app:******@db:5432/shop
            API_TOKEN    | abc123                            | ******
            NODE_ENV     | production                        | production
            ERROR_URL    | https://k3y@o1.ingest.sentry.io/5 | https://******@o1.ingest.sentry.io/5
            REPO         | https://ghp_x@github.com/a/b.git  | https://******@github.com/a/b.git
            MAIL         | a@example.com                     | a@example.com
            MYSQL_PWD    | abc                               | ******
            DB_PASS      | abc                               | ******
            PWD          | /srv/app                          | /srv/app
            JAVA_TOOL_OPTIONS | -Xmx1g -Djavax.net.ssl.trustStorePassword=s3cret | -Xmx1g -Djavax.net.ssl.trustStorePassword=******
            NODE_OPTIONS | --max-old-space-size=512 --require ./x.js | --max-old-space-size=512 --require ./x.js
            JAVA_OPTS    | -Dspring.datasource.password=pw   | -Dspring.datasource.password=******
            """)
    void anEnvironmentValueIsMaskedByItsNameOrItsUrlPassword(String name, String value, String shown) {
        assertThat(Secrets.environmentValue(name, value)).isEqualTo(shown);
    }
}
