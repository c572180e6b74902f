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

    /** Found by an attacking helper: -1 took no warning, and 258 slow connections held every thread. */
    @Test
    void connectionsWithoutALimitAreWarnedOfWhateverTheThreads() {
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 256, -1))
                .startsWith("server.tomcat.threads.max (256) is below server.tomcat.max-connections (no limit: -1): ");
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 256, 0)).isNotNull();
        assertThat(AdminTomcat.fewerThreadsThanConnections(false, 256, -1)).isNull();
    }

    @Test
    void asManyThreadsAsConnectionsOrVirtualThreadsAreNot() {
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 256, 256)).isNull();
        assertThat(AdminTomcat.fewerThreadsThanConnections(true, 300, 256)).isNull();
        assertThat(AdminTomcat.fewerThreadsThanConnections(false, 32, 256)).isNull();
    }
}
