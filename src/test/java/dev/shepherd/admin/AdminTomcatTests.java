package dev.shepherd.admin;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class AdminTomcatTests {

    @Test
    void fewerPlatformThreadsThanConnectionsAreWarnedOfNamingBothSettings() {
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 32, 256))
                .startsWith("server.tomcat.threads.max (32) is below server.tomcat.max-connections (256): ")
                .contains("health included, stops answering");
    }

    @Test
    void asManyThreadsAsConnectionsOrVirtualThreadsAreNot() {
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 256, 256)).isNull();
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 300, 256)).isNull();
        assertThat(AdminTomcat.fewerThreadsThanConnections(false, 32, 256)).isNull();
    }
}
