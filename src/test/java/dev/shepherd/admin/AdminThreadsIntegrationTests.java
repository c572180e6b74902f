package dev.shepherd.admin;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The admin port's request threads are all started with it: a worker that forked up to its user's process limit left
 * Tomcat unable to start one more, and the admin API died with the thread that serves its connections (found by an
 * attacking helper). They are as many as its connections, which can each hold one. On Java 21+ requests run on
 * virtual threads instead, which need no such start.
 */
class AdminThreadsIntegrationTests {

    /** {@code server.tomcat.max-connections}, Shepherd's default. */
    private static final long CONNECTIONS = 256;

    @Test
    void everyRequestThreadOfTheAdminPortRunsBeforeTheFirstRequest() {
        assumeThat(Runtime.version().feature()).as("Java 21+ serves the admin port on virtual threads").isLessThan(21);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            // Tomcat names them http-nio-ADDRESS-PORT-exec-N, PORT "auto-N" when it was picked at random.
            assertThat(requestThreads()).as("started with the port").isNotEmpty().allSatisfy((pool, count) ->
                    assertThat(count).as(pool).isEqualTo(CONNECTIONS));

            assertThat(shepherd.admin("GET", "/actuator/health", null, Map.of()).statusCode()).isEqualTo(200);

            assertThat(requestThreads()).as("none more").allSatisfy((pool, count) -> assertThat(count).isEqualTo(CONNECTIONS));
        }
    }

    /**
     * Found by an attacking helper: a request that declares a body and sends it a byte at a time holds a request
     * thread for as long as it lasts, a refused one too (Tomcat reads the rest of an unread body, up to 2 MB, to keep
     * the connection). With 32 threads, 32 such connections without the token took them all on Java 17 to 20, and
     * health stopped answering. Here 48 are held, each answered 401, while health is asked three times.
     */
    @Test
    void connectionsTricklingABodyWithoutTheTokenLeaveHealthAnswering() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", "--fleet.admin.token=trickle-test")) {
            List<Socket> trickling = new ArrayList<>();
            try {
                for (int i = 0; i < 48; i++) {
                    Socket socket = new Socket(InetAddress.getLoopbackAddress(), shepherd.adminPort());
                    trickling.add(socket);
                    socket.setSoTimeout(10_000);
                    socket.getOutputStream().write(("POST /fleet/scale HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                            + "application/json\r\nContent-Length: 100000\r\n\r\n{").getBytes(StandardCharsets.US_ASCII));
                }
                for (Socket socket : trickling) {
                    assertThat(RawHttp.status(RawHttp.readHead(socket.getInputStream()))).as("refused at once").isEqualTo(401);
                }
                for (int round = 0; round < 3; round++) {
                    for (Socket socket : trickling) {
                        socket.getOutputStream().write(' '); // the rest of the body, a byte at a time
                    }
                    assertThat(health(shepherd.adminPort())).as("health while 48 bodies trickle").startsWith("HTTP/1.1 200");
                }
                for (Socket socket : trickling) {
                    socket.getOutputStream().write(' ');
                }
            } finally {
                RawHttp.closeAll(trickling);
            }
        }
    }

    /** GET /actuator/health on a connection of its own: what came within 5 s. */
    private static String health(int port) throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(5_000);
            socket.getOutputStream().write("GET /actuator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            return RawHttp.readUntilClose(socket.getInputStream());
        }
    }

    /** The admin ports' request threads running now, counted by pool. */
    private static Map<String, Long> requestThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.startsWith("http-nio-") && name.contains("-exec-"))
                .collect(Collectors.groupingBy(name -> name.substring(0, name.indexOf("-exec-")), Collectors.counting()));
    }
}
