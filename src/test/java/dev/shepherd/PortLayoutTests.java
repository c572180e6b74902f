package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.web.server.Ssl;
import org.springframework.boot.SpringApplication;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PortLayoutTests {

    @Test
    void proxyTakesServerPortAndTheServletContainerTakesTheManagementPortAndAddress() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new SystemEnvironmentPropertySource("env", Map.of(
                "SERVER_PORT", "9090", "MANAGEMENT_SERVER_PORT", "9091", "MANAGEMENT_SERVER_ADDRESS", "0.0.0.0",
                "FLEET_WORKERS", "3")));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(environment.getProperty(PortLayout.PROXY_PORT)).isEqualTo("9090");
        assertThat(environment.getProperty(PortLayout.PROXY_ADDRESS)).isEqualTo("0.0.0.0");
        assertThat(environment.getProperty("server.port")).isEqualTo("9091");
        assertThat(environment.getProperty("server.address")).isEqualTo("0.0.0.0");
        assertThat(environment.getProperty("management.server.address")).isNull();
        assertThat(environment.getProperty("management.server.port")).isEmpty();
        assertThat(environment.getProperty("fleet.workers")).isEqualTo("3");
    }

    @Test
    void defaultsAreProxyOn8080AndAdminOnLoopback8081() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("none", Map.of()));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(environment.getProperty(PortLayout.PROXY_PORT)).isEqualTo("8080");
        assertThat(environment.getProperty("server.port")).isEqualTo("8081");
        assertThat(environment.getProperty("server.address")).isEqualTo("127.0.0.1");
    }

    @Test
    void otherSpringBootApplicationsOnTheClasspathKeepTheirPorts() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of("server.port", "7000")));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(Object.class));

        assertThat(environment.getProperty("server.port")).isEqualTo("7000");
        assertThat(environment.getProperty(PortLayout.PROXY_PORT)).isNull();
    }

    @Test
    void sameProxyAndAdminPortIsRefusedNamingBothProperties() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of("server.port", "7000",
                "management.server.port", "7000")));

        assertThatThrownBy(() -> new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class)))
                .hasMessageContaining("server.port").hasMessageContaining("management.server.port");
    }

    /** A bad port or address is reported under the name the user wrote, before it moves to another property. */
    @ParameterizedTest
    @ValueSource(strings = {"server.port=abc|give a port number from 0 to 65535",
            "server.port=70000|give a port number from 0 to 65535", "management.server.port=-1|give a port number",
            "server.port=8080,9090|a comma makes it a list of values: this setting takes one",
            "server.address=127.0.0.1,127.0.0.1|give one address to listen on (a comma makes it a list",
            "management.server.address=no-such-host.invalid|which does not resolve",
            "server.address=999.1.1.1|which does not resolve"})
    void aPortOrAddressThatCannotBeUsedIsRefusedUnderItsOwnName(String setting) {
        String[] parts = setting.split("[=|]", 3);
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of(parts[0], parts[1])));

        assertThatThrownBy(() -> new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class)))
                .isInstanceOfSatisfying(InvalidSetting.class, invalid ->
                        assertThat(invalid.property()).isEqualTo(parts[0]))
                .hasMessageStartingWith(parts[0] + " is '" + parts[1] + "'").hasMessageContaining(parts[2]);
    }

    /** The admin plane is the servlet container: another web application type is refused under its own name. */
    @ParameterizedTest
    @ValueSource(strings = {"spring.main.web-application-type=none", "spring.main.web-application-type=REACTIVE",
            "SPRING_MAIN_WEBAPPLICATIONTYPE=none"})
    void aWebApplicationTypeOtherThanServletIsRefused(String setting) {
        String[] parts = setting.split("=", 2);
        StandardEnvironment environment = new StandardEnvironment();
        if (parts[0].contains("_")) {
            environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                    new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                            Map.of(parts[0], parts[1])));
        } else {
            environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of(parts[0], parts[1])));
        }

        assertThatThrownBy(() -> new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class)))
                .isInstanceOfSatisfying(InvalidSetting.class, invalid ->
                        assertThat(invalid.property()).isEqualTo("spring.main.web-application-type"))
                .hasMessageStartingWith("spring.main.web-application-type is '" + parts[1] + "'");
    }

    @Test
    void aServletWebApplicationTypeIsWhatShepherdRunsAnyway() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args",
                Map.of("spring.main.web-application-type", "SERVLET")));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(environment.getProperty(PortLayout.PROXY_PORT)).isEqualTo("8080");
    }

    @Test
    void portsAreTakenAsNumbersAndAddressesAsGiven() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of("server.port", " 08080 ",
                "server.address", "::1", "management.server.address", "localhost")));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(environment.getProperty(PortLayout.PROXY_PORT)).isEqualTo("8080");
        assertThat(environment.getProperty(PortLayout.PROXY_ADDRESS)).isEqualTo("::1");
        assertThat(environment.getProperty("server.address")).isEqualTo("localhost");
    }

    @ParameterizedTest
    @ValueSource(strings = {"server.ssl.enabled=true", "server.ssl.bundle=web", "server.ssl.key-store=classpath:k.p12",
            "server.ssl.certificate=cert.pem", "server.ssl.client-auth=need", "server.ssl.ciphers[0]=TLS_AES_128_GCM_SHA256"})
    void serverSslIsTheProxysAndNeverReachesTheServletContainer(String property) {
        String[] pair = property.split("=", 2);
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of(pair[0], pair[1])));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(Binder.get(environment).bind(PortLayout.PROXY_SSL, Ssl.class).get().isEnabled()).isTrue();
        assertThat(Ssl.isEnabled(Binder.get(environment).bind("server.ssl", Ssl.class).orElse(null)))
                .as("TLS on the admin port").isFalse();
    }

    /** Found by an attacking helper: the admin port took its caller from X-Forwarded-For or Forwarded. */
    @Test
    void theAdminPlaneTakesNoForwardedHeaderWhateverIsSet() {
        StandardEnvironment environment = new StandardEnvironment();
        environment(environment, Map.of("SERVER_FORWARD_HEADERS_STRATEGY", "native"));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(environment.getProperty("server.forward-headers-strategy")).isEqualTo("none");
        assertThat(environment.getProperty(PortLayout.IGNORED_FORWARD_HEADERS))
                .isEqualTo("server.forward-headers-strategy=native");

        StandardEnvironment remoteIp = new StandardEnvironment();
        environment(remoteIp, Map.of("SERVER_TOMCAT_REMOTEIP_PROTOCOL_HEADER", "X-Forwarded-Proto",
                "SERVER_TOMCAT_REMOTEIP_REMOTEIPHEADER", "X-Real-IP"));
        new PortLayout().postProcessEnvironment(remoteIp, new SpringApplication(ShepherdApplication.class));
        assertThat(remoteIp.getProperty("server.tomcat.remoteip.protocol-header")).as("RemoteIpValve off").isEmpty();
        assertThat(remoteIp.getProperty("server.tomcat.remoteip.remote-ip-header")).isEmpty();
        assertThat(remoteIp.getProperty(PortLayout.IGNORED_FORWARD_HEADERS)).isEqualTo(
                "server.tomcat.remoteip.remote-ip-header=X-Real-IP, server.tomcat.remoteip.protocol-header=X-Forwarded-Proto");

        StandardEnvironment unset = new StandardEnvironment();
        new PortLayout().postProcessEnvironment(unset, new SpringApplication(ShepherdApplication.class));
        assertThat(unset.getProperty("server.forward-headers-strategy")).isEqualTo("none");
        assertThat(unset.containsProperty(PortLayout.IGNORED_FORWARD_HEADERS)).isFalse();
    }

    @Test
    void serverSslFromTheEnvironmentIsTheProxysToo() {
        StandardEnvironment environment = new StandardEnvironment();
        environment(environment, Map.of("SERVER_SSL_BUNDLE", "web", "SERVER_SSL_CLIENTAUTH", "want"));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        Ssl proxy = Binder.get(environment).bind(PortLayout.PROXY_SSL, Ssl.class).get();
        assertThat(proxy.getBundle()).isEqualTo("web");
        assertThat(proxy.getClientAuth()).isEqualTo(Ssl.ClientAuth.WANT);
        assertThat(Ssl.isEnabled(Binder.get(environment).bind("server.ssl", Ssl.class).orElse(null))).isFalse();
    }

    @Test
    void withoutServerSslTheProxyHasNoTls() {
        StandardEnvironment environment = new StandardEnvironment();

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(Binder.get(environment).bind(PortLayout.PROXY_SSL, Ssl.class).isBound()).isFalse();
    }

    @Test
    void managementSslBecomesTheTlsOfTheServletContainerThatServesTheAdminPort() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("args", Map.of("management.server.ssl.enabled", "true",
                "management.server.ssl.bundle", "admin", "management.server.ssl.ciphers[0]", "TLS_AES_128_GCM_SHA256")));
        environment(environment, Map.of("MANAGEMENT_SERVER_SSL_KEYSTOREPASSWORD", "s3cret",
                "MANAGEMENT_SERVER_SSL_CLIENT_AUTH", "want"));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        Ssl ssl = Binder.get(environment).bind("server.ssl", Ssl.class).get();
        assertThat(ssl.isEnabled()).isTrue();
        assertThat(ssl.getBundle()).isEqualTo("admin");
        assertThat(ssl.getCiphers()).containsExactly("TLS_AES_128_GCM_SHA256");
        assertThat(ssl.getKeyStorePassword()).isEqualTo("s3cret");
        assertThat(ssl.getClientAuth()).isEqualTo(Ssl.ClientAuth.WANT);
        assertThat(environment.getProperty("management.server.ssl.enabled"))
                .as("Actuator refuses management TLS on the servlet container's own port").isEqualTo("false");
    }

    @Test
    void withoutManagementSslTheAdminPortStaysPlain() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addFirst(new MapPropertySource("none", Map.of()));

        new PortLayout().postProcessEnvironment(environment, new SpringApplication(ShepherdApplication.class));

        assertThat(Ssl.isEnabled(Binder.get(environment).bind("server.ssl", Ssl.class).orElse(null))).isFalse();
        assertThat(environment.getProperty("management.server.ssl.enabled")).isNull();
    }

    /** Stands {@code variables} in for the process environment, under the name Spring Boot maps relaxed names for. */
    private static void environment(StandardEnvironment environment, Map<String, Object> variables) {
        environment.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, variables));
    }
}
