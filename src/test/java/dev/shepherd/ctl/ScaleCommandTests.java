package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code shepherd scale} against a fake admin API (the JDK's HTTP server) that desires 2 workers and records scales. */
class ScaleCommandTests {

    private final List<String> scales = new CopyOnWriteArrayList<>();
    private HttpServer server;
    private Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/fleet", exchange -> CtlTests.answer(exchange, 200,
                "{\"desired\":2,\"ready\":2,\"actual\":2,\"workers\":[]}"));
        server.createContext("/fleet/scale", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            scales.add(body);
            CtlTests.answer(exchange, 202, "{\"desired\":" + body.replaceAll("\\D", "") + "}");
        });
        server.start();
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** scale +0 said "scaling to 2 workers" for a scale that changes nothing (a new user's, as kubectl scale says it). */
    @Test
    void aRelativeScaleByNothingSaysNothingChangedAndSendsNoScale() {
        for (String nothing : List.of("+0", "-0", "+000")) {
            CtlTests.Result result = CtlTests.run(env, "scale", nothing);

            assertThat(result.code()).as(nothing + ": " + result.err()).isZero();
            assertThat(result.out()).as(nothing).isEqualTo("the fleet wants 2 workers already; nothing changed\n");
        }
        assertThat(scales).isEmpty();
    }

    @Test
    void aRelativeScaleSendsTheCountFromTheDesiredOne() {
        CtlTests.Result up = CtlTests.run(env, "scale", "+1");

        assertThat(up.code()).as(up.err()).isZero();
        assertThat(up.out()).isEqualTo("scaling to 3 workers (shepherd ls shows them)\n");
        assertThat(scales).containsExactly("{\"workers\":3}");
    }
}
