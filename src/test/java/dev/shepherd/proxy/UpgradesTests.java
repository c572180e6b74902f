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

    @Test
    void onlyWebSocketItselfGetsWebSocketCloseFrames() {
        assertThat(Upgrades.isWebSocket("WebSocket")).isTrue();
        assertThat(Upgrades.isWebSocket("websocket/13")).isTrue();
        assertThat(Upgrades.isWebSocket("websocket-foo")).isFalse();
        assertThat(Upgrades.isWebSocket(null)).isFalse();
    }

    /** RFC 6455 §1.3's example: the key {@code dGhlIHNhbXBsZSBub25jZQ==} is answered {@code s3pPLMBiTxaQ9kYGzzhZRbK+xOo=}. */
    @Test
    void aWebSocket101MustCarryTheAcceptThatAnswersTheKey() {
        HttpHeaders request = headers("upgrade", "websocket").set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
        String status = "HTTP/1.1 101 Switching Protocols\r\n";
        String right = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

        assertThat(Upgrades.accept("dGhlIHNhbXBsZSBub25jZQ==")).isEqualTo(right);
        assertThat(Upgrades.answersHandshake(request, lines(status + "sec-websocket-accept:  " + right + " \r\n")))
                .isTrue();
        assertThat(Upgrades.answersHandshake(request, lines(status + "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAA=\r\n")))
                .isFalse();
        assertThat(Upgrades.answersHandshake(request, lines(status))).as("none").isFalse();
        assertThat(Upgrades.answersHandshake(request, lines(status + "Sec-WebSocket-Accept: " + right + "\r\n"
                + "Sec-WebSocket-Accept: " + right + "\r\n"))).as("two").isFalse();
        assertThat(Upgrades.answersHandshake(headers("upgrade", "websocket"), lines(status + "Sec-WebSocket-Accept: "
                + right + "\r\n"))).as("no key (the client chooses to leave it out): no handshake").isFalse();
        assertThat(Upgrades.answersHandshake(request.add("Sec-WebSocket-Key", "x"), lines(status + "Sec-WebSocket-Accept: "
                + right + "\r\n"))).as("two keys").isFalse();
    }

    private static io.netty.buffer.ByteBuf lines(String text) {
        return io.netty.buffer.Unpooled.copiedBuffer(text, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static HttpHeaders headers(String connection, String upgrade) {
        return new DefaultHttpHeaders().set("Connection", connection).set("Upgrade", upgrade);
    }
}
