package dev.shepherd.proxy;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class UpgradesTests {

    private static final Set<String> WEBSOCKET = Set.of("websocket");

    @Test
    void anOfferNeedsTheUpgradeTokenInConnection() {
        assertThat(Upgrades.offered(headers("keep-alive", "websocket"), WEBSOCKET)).isNull();
        assertThat(Upgrades.offered(headers("keep-alive, Upgrade", "websocket"), WEBSOCKET)).containsExactly("websocket");
    }

    @Test
    void onlyAllowedProtocolsAreKeptInTheClientsOrder() {
        assertThat(Upgrades.offered(headers("upgrade", "h2c, WebSocket, foo/2"), Set.of("websocket", "foo")))
                .containsExactly("websocket", "foo/2");
        assertThat(Upgrades.offered(headers("upgrade", "h2c"), WEBSOCKET)).isNull();
        assertThat(Upgrades.offered(headers("upgrade", "websocket"), Set.of())).isNull();
    }

    @Test
    void aWorkerMayOnlyChooseAnOfferedProtocol() {
        List<String> offered = List.of("websocket", "foo/2");
        assertThat(Upgrades.contains(offered, "WebSocket")).isTrue();
        assertThat(Upgrades.contains(offered, "foo")).isTrue();
        assertThat(Upgrades.contains(offered, "foo/2")).isTrue();
        assertThat(Upgrades.contains(offered, "h2c")).isFalse();
        assertThat(Upgrades.contains(offered, null)).isFalse();
    }

    private static HttpHeaders headers(String connection, String upgrade) {
        return new DefaultHttpHeaders().set("Connection", connection).set("Upgrade", upgrade);
    }
}
