package dev.shepherd;

import org.junit.jupiter.api.Test;
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
}
