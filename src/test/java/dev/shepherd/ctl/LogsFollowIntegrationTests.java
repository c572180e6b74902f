package dev.shepherd.ctl;

import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code logs -f} of every worker against a real master, through the reloads of a new user's report: one whose new
 * worker writes its first 40 lines at once (it showed the last of them, with no marker), and one whose new worker
 * crashes at once, between two of the follow's reads of the fleet (it showed nothing of it, its error included). A
 * master of its own: a reload changes its spec.
 */
class LogsFollowIntegrationTests {

    private static final int LINES = 40;

    private RunningShepherd shepherd;
    private CompletableFuture<Integer> following;

    @AfterEach
    void stop() throws Exception {
        if (shepherd != null) {
            shepherd.close();
        }
        if (following != null) {
            // It ends when the master does: nothing of the test outlives it.
            assertThat(following.get(30, TimeUnit.SECONDS)).isEqualTo(Ctl.UNREACHABLE);
        }
    }

    private Map<String, String> env() {
        return Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + shepherd.adminPort());
    }

    /** A command that has sh write {@code lines} numbered lines, "TAG line I", to {@code to} ("" or ">&2"), then {@code rest}. */
    private static String writing(String tag, String to, String rest) {
        return "sh,-c,i=1; while [ $i -le " + LINES + " ]; do echo " + tag + " line $i " + to + "; i=$((i+1)); done; "
                + rest;
    }

    /** The lines of {@code text} that worker {@code id} wrote, as logs -f shows them, without the prefix. */
    private static List<String> of(String text, int id) {
        return text.lines().filter(line -> line.startsWith(id + " | ")).map(line -> line.substring((id + " | ").length()))
                .toList();
    }

    private static List<String> numbered(String tag) {
        return IntStream.rangeClosed(1, LINES).mapToObj(i -> tag + " line " + i).toList();
    }

    @Test
    void logsFollowShowsANewWorkerFromItsFirstLineAndOneThatCrashedAtOnce() {
        shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.startup-timeout=15s");
        StringWriter out = new StringWriter();
        following = CompletableFuture.supplyAsync(() -> Ctl.run(new String[] {"logs", "-f", "-n", "1"},
                new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), env()));
        await().atMost(Duration.ofSeconds(10)).until(() -> !out.toString().isEmpty());

        // Its first lines written at once, before the follow could see it, then the echo worker in sh's place.
        String echo = String.join(",", RunningShepherd.javaCommand(EchoWorker.class));
        CtlTests.Result took = CtlTests.run(env(), "reload", "--wait", "--command",
                writing("startup", "", "exec \"$@\",worker," + echo));
        assertThat(took.code()).as(took.out() + took.err()).isZero();
        // The new worker: the old one may be stopping still.
        int started = shepherd.snapshot().workers().stream().mapToInt(WorkerSnapshot::id).max().orElseThrow();
        await().atMost(Duration.ofSeconds(20)).until(() -> out.toString().contains(started + " | echo worker "));
        assertThat(of(out.toString(), started)).startsWith(numbered("startup").toArray(String[]::new));

        CtlTests.Result crashed = CtlTests.run(env(), "reload", "--wait", "--command", writing("crash", ">&2", "exit 3"));

        assertThat(crashed.code()).as(crashed.out() + crashed.err()).isEqualTo(Ctl.ROLLED_BACK);
        await().atMost(Duration.ofSeconds(20)).until(() -> out.toString().contains("crash line " + LINES + "\n"));
        List<String> crash = out.toString().lines().filter(line -> line.contains("crash line")).toList();
        int crashedId = Integer.parseInt(crash.get(0).substring(0, crash.get(0).indexOf(' ')));
        assertThat(crashedId).isGreaterThan(started);
        assertThat(of(out.toString(), crashedId)).isEqualTo(numbered("crash"));
    }
}
