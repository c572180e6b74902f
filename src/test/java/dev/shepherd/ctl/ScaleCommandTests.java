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

/**
 * {@code shepherd scale} against a fake admin API (the JDK's HTTP server) that desires 2 workers, records scales and
 * answers each with {@code previous} 2, unless told to answer as a master before it did.
 */
class ScaleCommandTests {

    private final List<String> scales = new CopyOnWriteArrayList<>();
    private volatile boolean answersPrevious = true;
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
            CtlTests.answer(exchange, 202, "{\"desired\":" + body.replaceAll("\\D", "")
                    + (answersPrevious ? ",\"previous\":2}" : "}"));
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

    /** scale 2 of a fleet of 2 said "scaling to 2 workers" (a new user's): the answer's previous tells it changed nothing. */
    @Test
    void aScaleToTheCountDesiredAlreadySaysNothingChanged() {
        CtlTests.Result same = CtlTests.run(env, "scale", "2");

        assertThat(same.code()).as(same.err()).isZero();
        assertThat(same.out()).isEqualTo("the fleet wants 2 workers already; nothing changed\n");
        assertThat(scales).as("sent: only the master knows the count when it takes the scale").containsExactly("{\"workers\":2}");
    }

    @Test
    void aScaleToAnotherCountSaysItScales() {
        CtlTests.Result up = CtlTests.run(env, "scale", "5");

        assertThat(up.code()).as(up.err()).isZero();
        assertThat(up.out()).isEqualTo("scaling to 5 workers (shepherd ls shows them)\n");
    }

    /** A master from before the answer had previous: nothing is known of the count before, so it is told as a scale. */
    @Test
    void anAnswerWithoutPreviousIsToldAsAScale() {
        answersPrevious = false;

        CtlTests.Result same = CtlTests.run(env, "scale", "2");

        assertThat(same.code()).as(same.err()).isZero();
        assertThat(same.out()).isEqualTo("scaling to 2 workers (shepherd ls shows them)\n");
    }
}
