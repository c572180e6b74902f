package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code shepherd top}'s snapshots (not on a terminal) against a fake admin API, the JDK's HTTP server. */
class TopCommandTests {

    private final AtomicInteger reads = new AtomicInteger();
    private HttpServer server;
    private Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/fleet", exchange -> {
            reads.incrementAndGet();
            CtlTests.answer(exchange, 200, "{\"desired\":2,\"ready\":2,\"actual\":2,"
                    + "\"reload\":{\"state\":\"IDLE\",\"generation\":1},\"workers\":[]}");
        });
        server.createContext("/actuator/health", exchange -> CtlTests.answer(exchange, 200, "{\"status\":\"UP\"}"));
        server.start();
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    /** top -d 2 -n 2, top's delay with its batch options, said "Unknown options: '-d', '2'" (a new user's). */
    @Test
    void delayIsTheTimeBetweenSnapshotsAsTopsDashD() {
        long before = System.nanoTime();
        CtlTests.Result result = CtlTests.run(env, "top", "-d", "0.2", "-n", "2");
        long tookMillis = (System.nanoTime() - before) / 1_000_000;

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out().split("shepherd top  ·  ", -1)).hasSize(3);
        assertThat(reads).hasValue(2);
        assertThat(tookMillis).as("a fifth of a second apart, not the default second").isBetween(200L, 999L);
        assertThat(CtlTests.run(env, "top", "-bd2").code()).as("top's bundled form: one snapshot, no wait").isZero();
    }

    @Test
    void aDelayThatIsNoNumberOfSecondsWithinBoundsIsAUsageErrorBeforeAnyRead() {
        for (String bad : new String[] {"abc", "0", "0.1", "3601", "-1", "1e3", "2s", "0.0001"}) {
            CtlTests.Result result = CtlTests.run(env, "top", "-d", bad, "-n", "2");

            assertThat(result.code()).as(bad).isEqualTo(Ctl.USAGE);
            assertThat(result.err()).as(bad).isEqualTo("-d must be a number of seconds, 0.2 to 3600, not '" + bad
                    + "' (see shepherd top --help)\n");
        }
        assertThat(CtlTests.run(env, "top", "--delay=x").err()).startsWith("--delay must be a number of seconds");
        assertThat(reads).hasValue(0);
    }
}
