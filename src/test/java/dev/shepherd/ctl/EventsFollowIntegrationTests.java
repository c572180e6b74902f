package dev.shepherd.ctl;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code events -f} against a master that stops: it ends as {@code logs -f} does, with a line on stderr and exit 1,
 * so that a script can tell the stream is over. A master of its own, since it stops it.
 */
class EventsFollowIntegrationTests {

    @Test
    void eventsFollowExitsWithFailureWhenTheMasterStops() throws Exception {
        RunningShepherd stopping = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> code = CompletableFuture.supplyAsync(() -> Ctl.run(
                new String[] {"events", "-f", "-n", "1"}, new PrintWriter(out, true), new PrintWriter(err, true),
                Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + stopping.adminPort())));
        try {
            // The recent event is printed once the stream is open.
            await().atMost(Duration.ofSeconds(10)).until(() -> !out.toString().isEmpty());
        } finally {
            stopping.close();
        }

        assertThat(code.get(30, TimeUnit.SECONDS)).as("the master went away, as when it cannot be reached")
                .isEqualTo(Ctl.UNREACHABLE);
        assertThat(err.toString()).isEqualTo("the master ended the event stream: it stopped or restarted\n");
    }
}
