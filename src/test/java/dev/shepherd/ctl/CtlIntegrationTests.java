package dev.shepherd.ctl;

import dev.shepherd.ShepherdApplication;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Every command of the command line against a real master with real demo workers, as an operator runs them. */
class CtlIntegrationTests {

    private static final String TOKEN = "ctl-token";
    private static RunningShepherd shepherd;
    private static Map<String, String> env;
    /** While this file exists, new workers never get READY. */
    private static Path notReady;

    @BeforeAll
    static void start() throws IOException {
        notReady = Files.createTempFile("ctl-not-ready", "");
        Files.delete(notReady);
        shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.admin.token=" + TOKEN,
                RunningShepherd.echoWorkerCommand(), "--fleet.worker.environment.NEVER_READY_FILE=" + notReady,
                // Each worker a JVM: 3 s was too short for one to start on a loaded host, where it is then killed.
                "--fleet.worker.startup-timeout=10s", "--fleet.worker.drain-timeout=2s", "--fleet.worker.kill-timeout=2s");
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + shepherd.adminPort(), "SHEPHERD_ADMIN_TOKEN", TOKEN);
    }

    @AfterAll
    static void stop() throws IOException {
        if (shepherd != null) {
            shepherd.close();
        }
        Files.deleteIfExists(notReady);
    }

    private static CtlTests.Result ctl(String... args) {
        return CtlTests.run(env, args);
    }

    private static WorkerSnapshot readyWorker() {
        shepherd.awaitReady(shepherd.snapshot().desired());
        return shepherd.snapshot().workers().stream().filter(worker -> worker.state() == WorkerState.READY).findFirst().orElseThrow();
    }

    @Test
    void lsShowsEveryWorkerWithItsPid() {
        shepherd.awaitReady(shepherd.snapshot().desired());
        List<Long> pids = shepherd.readyPids();

        CtlTests.Result result = ctl("ls");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).startsWith("ID  INDEX  PID");
        pids.forEach(pid -> assertThat(result.out()).containsPattern("(?m)^\\d+\\s+\\d+\\s+" + pid + "\\s+READY\\s"));

        // top -b -n 2, as top(1) is run for a snapshot: two of them, a second apart (it said "Unknown options").
        CtlTests.Result two = ctl("top", "-b", "-n", "2");
        assertThat(two.code()).as(two.err()).isZero();
        assertThat(two.out().split("shepherd top  ·  ", -1)).hasSize(3);
    }

    @Test
    void lsJsonIsTheFleetAsTheApiSendsIt() {
        CtlTests.Result result = ctl("ls", "--json");

        JsonNode fleet = Json.MAPPER.readTree(result.out());
        assertThat(fleet.path("desired").asInt()).isEqualTo(shepherd.snapshot().desired());
        assertThat(fleet.path("workers").isArray()).isTrue();
    }

    @Test
    void statusShowsHealthCountsAndReload() {
        shepherd.awaitReady(shepherd.snapshot().desired());

        CtlTests.Result result = ctl("status");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).contains("health   UP").containsPattern("workers  \\d+ ready of \\d+ desired").contains("reload   ");
    }

    @Test
    void scaleToThreeMakesThreeReadyAndBackToTwo() {
        CtlTests.Result up = ctl("scale", "3");

        assertThat(up.code()).as(up.err()).isZero();
        assertThat(up.out()).isEqualTo("scaling to 3 workers (shepherd ls shows them)\n");
        shepherd.awaitReady(3);
        assertThat(ctl("ls").out().lines().filter(line -> line.contains(" READY ")).count()).isEqualTo(3);

        assertThat(ctl("scale", "2").code()).isZero();
        CtlTests.Result again = ctl("scale", "2");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.out()).as("a scale to the count desired already")
                .isEqualTo("the fleet wants 2 workers already; nothing changed\n");
        await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().size() == 2);
    }

    /** PM2's {@code pm2 scale app +1}: {@code +1} added nothing, it set one worker (found by a new user). */
    @Test
    void plusAndMinusScaleFromTheDesiredCount() {
        int desired = shepherd.snapshot().desired();

        CtlTests.Result up = ctl("scale", "+1");
        assertThat(up.code()).as(up.err()).isZero();
        assertThat(up.out()).isEqualTo("scaling to " + (desired + 1) + " workers (shepherd ls shows them)\n");
        assertThat(shepherd.snapshot().desired()).isEqualTo(desired + 1);

        CtlTests.Result down = ctl("scale", "-1");
        assertThat(down.code()).as(down.err()).isZero();
        assertThat(shepherd.snapshot().desired()).isEqualTo(desired);

        CtlTests.Result tooFew = ctl("scale", "--", "-" + desired);
        assertThat(tooFew.code()).isEqualTo(Ctl.USAGE);
        assertThat(tooFew.err()).startsWith("the fleet wants " + desired + " workers; -" + desired + " would leave 0, and 1 is the fewest");
        assertThat(shepherd.snapshot().desired()).isEqualTo(desired);
        await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().size() == desired);
    }

    @Test
    void scaleBeyondTheLimitPrintsTheApiProblem() {
        CtlTests.Result result = ctl("scale", "100000");

        assertThat(result.code()).isEqualTo(Ctl.FAILED);
        assertThat(result.err()).startsWith("Invalid request: workers must be between 1 and ").contains("fleet.max-workers").hasLineCount(1);
    }

    @Test
    void replaceAndItsAliasRestartReplaceTheWorkersProcess() {
        WorkerSnapshot worker = readyWorker();

        CtlTests.Result result = ctl("replace", Integer.toString(worker.id()));

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).startsWith("replacing worker " + worker.id() + ": its replacement is worker ");
        awaitReplaced(worker);

        WorkerSnapshot next = readyWorker();
        CtlTests.Result alias = ctl("restart", Integer.toString(next.id()));
        assertThat(alias.code()).as(alias.err()).isZero();
        awaitReplaced(next);
    }

    @Test
    void killReplacesTheWorkersProcess() {
        WorkerSnapshot worker = readyWorker();

        CtlTests.Result result = ctl("kill", Integer.toString(worker.id()), "--signal", "SIGKILL");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("sent KILL to worker " + worker.id() + "\n");
        awaitReplaced(worker);
    }

    private static void awaitReplaced(WorkerSnapshot old) {
        await().atMost(Duration.ofSeconds(30)).until(() -> !ProcessHandle.of(old.pid()).map(ProcessHandle::isAlive).orElse(false)
                && shepherd.readyPids().size() == shepherd.snapshot().desired() && !shepherd.readyPids().contains(old.pid()));
    }

    @Test
    void logsOfOneWorkerPrintItsLastLines() {
        WorkerSnapshot worker = readyWorker();

        CtlTests.Result result = ctl("logs", Integer.toString(worker.id()), "-n", "5");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).contains("echo worker " + worker.pid() + " listening on ");
        assertThat(result.out().lines().count()).isBetween(1L, 5L);
    }

    @Test
    void logsOfEveryWorkerArePrefixedWithTheWorkerId() {
        WorkerSnapshot worker = readyWorker();

        CtlTests.Result result = ctl("logs");

        assertThat(result.out()).contains(worker.id() + " | echo worker " + worker.pid() + " listening on ");
    }

    @Test
    void logsWithTimestampsBeginEachLineWithWhenAndWhichProcess() {
        WorkerSnapshot worker = readyWorker();

        CtlTests.Result result = ctl("logs", Integer.toString(worker.id()), "--timestamps");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).containsPattern("(?m)^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:[\\d.]+Z pid " + worker.pid()
                + " echo worker " + worker.pid() + " listening on ");
    }

    @Test
    void logsOfAnUnknownWorkerSayWhichOnesExist() {
        CtlTests.Result result = ctl("logs", "99999");

        assertThat(result.code()).isEqualTo(Ctl.FAILED);
        assertThat(result.err()).isEqualTo("No such worker: Worker 99999 is not in the fleet; GET /fleet (or shepherd ls) lists the current ones, with their ids "
                + "and indexes (an index is not an id)\n");
    }

    @Test
    void eventsShowWhatHappened() {
        readyWorker();

        CtlTests.Result result = ctl("events");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).containsPattern("(?m)^\\S+Z  READY\\s+  worker \\d+  pid \\d+");
    }

    @Test
    void eventsAsJsonKeepTheLastN() {
        readyWorker();
        int all = Json.MAPPER.readTree(ctl("events", "--json", "-n", "1000").out()).size();

        CtlTests.Result result = ctl("events", "--json", "-n", "2");

        assertThat(all).isGreaterThan(2);
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(Json.MAPPER.readTree(result.out()).values()).hasSize(2)
                .allSatisfy(event -> assertThat(event.path("type").asString()).isNotEmpty());
    }

    /**
     * Runs a command that follows until the master ends its streams, in a daemon thread: it ends when the master
     * stops after the last test, so its output is read while it runs.
     */
    private static StringWriter follow(String... args) {
        StringWriter out = new StringWriter();
        Thread thread = new Thread(() -> Ctl.run(args, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true), env),
                "ctl-" + String.join("-", args));
        thread.setDaemon(true);
        thread.start();
        return out;
    }

    @Test
    void eventsFollowPrintsTheEventsOfAKillAsTheyHappen() {
        WorkerSnapshot worker = readyWorker();
        StringWriter out = follow("events", "-f", "-n", "1");
        // The recent event is printed once the stream is open: what happens from then on comes through the stream.
        await().atMost(Duration.ofSeconds(10)).until(() -> !out.toString().isEmpty());

        shepherd.fleet().kill(worker.id(), "KILL");

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(out.toString())
                .containsPattern("EXITED\s+  worker " + worker.id() + "  pid " + worker.pid()));
        awaitReplaced(worker);
    }

    @Test
    void logsFollowPrintsTheLinesOfANewWorker() {
        WorkerSnapshot worker = readyWorker();
        StringWriter out = follow("logs", "-f", "-n", "1");
        await().atMost(Duration.ofSeconds(10)).until(() -> !out.toString().isEmpty());

        int replacement = shepherd.fleet().replace(worker.id());

        // A new JVM's first line, and the follow's next ask: beyond 30 s once, on a loaded host.
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> assertThat(out.toString())
                .containsPattern("(?m)^" + replacement + " \\| echo worker \\d+ listening on "));
        awaitReplaced(worker);
    }

    /** Has the worker write {@code lines} lines at once (EchoWorker's /print), asked on its own port. */
    private static void print(WorkerSnapshot worker, int lines, String to, String tag) throws Exception {
        HttpResponse<String> answer = shepherd.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + worker.port() + "/print?lines=" + lines + "&to=" + to + "&tag=" + tag)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.body()).isEqualTo("printed " + lines + "\n");
    }

    /**
     * It asked for the last 100 lines every 500 ms and printed the new ones: of a worker writing faster, it skipped
     * lines without a word. Now every line is printed, or a marker says exactly how many were dropped before.
     */
    @Test
    void logsFollowOfAFastWorkerPrintsEveryLineOrSaysExactlyHowManyItMissed() throws Exception {
        WorkerSnapshot worker = readyWorker();
        StringWriter text = follow("logs", Integer.toString(worker.id()), "-f", "-n", "1");
        StringWriter json = follow("logs", Integer.toString(worker.id()), "-f", "-n", "1", "--json");
        await().atMost(Duration.ofSeconds(10)).until(() -> !text.toString().isEmpty() && !json.toString().isEmpty());

        print(worker, 20_000, "stdout", "fast");

        await().atMost(Duration.ofSeconds(60)).until(() -> text.toString().contains("fast out 19999\n")
                && json.toString().contains("fast out 19999"));
        long shown = 0;
        long missed = 0;
        long last = -1;
        for (String line : text.toString().lines().toList()) {
            Matcher printed = Pattern.compile("fast out (\\d+)").matcher(line);
            Matcher marker = Pattern.compile("-- (\\d+) lines? missed: dropped by the master before .* --").matcher(line);
            if (printed.matches()) {
                assertThat(Long.parseLong(printed.group(1))).as("in order, each once").isGreaterThan(last);
                last = Long.parseLong(printed.group(1));
                shown++;
            } else if (marker.matches()) {
                missed += Long.parseLong(marker.group(1));
            }
        }
        assertThat(shown + missed).as("every line shown or counted as missed").isEqualTo(20_000);
        List<JsonNode> elements = json.toString().lines().map(Json.MAPPER::readTree).toList();
        for (int i = 1; i < elements.size(); i++) {
            JsonNode element = elements.get(i);
            assertThat(element.path("seq").asLong()).as("no gap but those a marker counts: %s", element)
                    .isEqualTo(elements.get(i - 1).path("seq").asLong() + element.path("missed").asLong(1));
        }
        // Its last lines are now these: a fresh worker for the tests that read a worker's first lines.
        shepherd.fleet().replace(worker.id());
        awaitReplaced(worker);
    }

    /** PM2's logs --err and --out: one stream of a worker's output, its tail and as it comes. */
    @Test
    void logsOfOneStreamShowThatStreamsLinesOnly() throws Exception {
        WorkerSnapshot worker = readyWorker();
        String id = Integer.toString(worker.id());
        print(worker, 1, "stderr", "first");
        StringWriter followed = follow("logs", id, "--err", "-f", "-n", "1");
        // Its tail shown, it follows from there.
        await().atMost(Duration.ofSeconds(10)).until(() -> followed.toString().equals("first err 0\n"));
        print(worker, 1000, "both", "mixed");

        await().atMost(Duration.ofSeconds(30)).until(() -> followed.toString().contains("mixed err 999\n"));
        CtlTests.Result errors = ctl("logs", id, "--err", "-n", "5");
        CtlTests.Result output = ctl("logs", id, "--out", "-n", "5");

        assertThat(errors.out()).isEqualTo("mixed err 991\nmixed err 993\nmixed err 995\nmixed err 997\nmixed err 999\n");
        assertThat(output.out()).isEqualTo("mixed out 990\nmixed out 992\nmixed out 994\nmixed out 996\nmixed out 998\n");
        assertThat(followed.toString().lines().filter(line -> line.startsWith("mixed ")))
                .as("every stderr line, and no other").hasSize(500).allMatch(line -> line.startsWith("mixed err "));
        shepherd.fleet().replace(worker.id());
        awaitReplaced(worker);
    }

    /**
     * logs -f --err counted the lines of both streams in its "missed" note ("-- 3712 lines of stdout and stderr
     * missed"), whose stdout lines it never meant to show: now each stderr line is shown or counted, and no other.
     */
    @Test
    void logsFollowOfOneStreamCountsThatStreamsLinesMissedOnly() throws Exception {
        WorkerSnapshot worker = readyWorker();
        String id = Integer.toString(worker.id());
        print(worker, 1, "stderr", "before");
        StringWriter followed = follow("logs", id, "--err", "-f", "-n", "1");
        await().atMost(Duration.ofSeconds(10)).until(() -> followed.toString().equals("before err 0\n"));

        print(worker, 40_000, "both", "flood");

        await().atMost(Duration.ofSeconds(60)).until(() -> followed.toString().contains("flood err 39999\n"));
        long shown = 0;
        long missed = 0;
        for (String line : followed.toString().lines().skip(1).toList()) {
            Matcher marker = Pattern.compile("-- (\\d+) lines? of stderr missed: dropped by the master before .* --")
                    .matcher(line);
            if (line.matches("flood err \\d*[13579]")) {
                shown++;
            } else {
                assertThat(marker.matches()).as("a stderr line or a marker of stderr lines: %s", line).isTrue();
                missed += Long.parseLong(marker.group(1));
            }
        }
        assertThat(shown + missed).as("each of the 20,000 stderr lines shown or counted as missed, no stdout line")
                .isEqualTo(20_000);
        shepherd.fleet().replace(worker.id());
        awaitReplaced(worker);
    }

    /** As kubectl logs -f ends when its pod goes: it followed a replaced worker on, silent, for ever (a new user's). */
    @Test
    void logsFollowOfOneWorkerEndsWhenItLeavesTheFleet() throws Exception {
        WorkerSnapshot worker = readyWorker();
        CompletableFuture<CtlTests.Result> following = CompletableFuture.supplyAsync(() -> ctl("logs",
                Integer.toString(worker.id()), "-f", "-n", "1"));

        shepherd.fleet().replace(worker.id());
        awaitReplaced(worker);

        CtlTests.Result result = following.get(30, TimeUnit.SECONDS);
        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.err()).isEqualTo("worker " + worker.id() + " has left the fleet (shepherd events says why): "
                + "its last lines are above\n");
    }

    @Test
    void reloadWaitPrintsProgressAndExitsZeroWhenEveryWorkerIsReplaced() {
        shepherd.awaitReady(shepherd.snapshot().desired());
        List<Long> before = shepherd.readyPids();

        CtlTests.Result result = ctl("reload", "--wait");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).containsPattern("^reload to generation \\d+ started: \\d+ workers? to replace")
                .doesNotContain("running").contains("replaced by worker").containsPattern("reload to generation \\d+ succeeded: \\d+ workers? replaced");
        assertThat(shepherd.readyPids()).doesNotContainAnyElementsOf(before);
    }

    @Test
    void reloadWaitExitsWithRolledBackAndTheReasonWhenANewWorkerNeverGetsReady() throws IOException {
        shepherd.awaitReady(shepherd.snapshot().desired());
        List<Long> before = shepherd.readyPids();
        Files.writeString(notReady, "new workers stay unready");
        CtlTests.Result result;
        try {
            result = ctl("reload", "--wait");
        } finally {
            Files.delete(notReady);
        }

        assertThat(result.code()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(result.err()).containsPattern("^reload to generation \\d+ failed and was rolled back: .*not READY within 10000 ms")
                .hasLineCount(1);
        assertThat(result.out()).containsPattern("^reload to generation \\d+ started")
                .as("the failure is told once, on standard error").doesNotContain("rolled back");
        await().atMost(Duration.ofSeconds(20)).until(() -> shepherd.snapshot().workers().size() == 2);
        assertThat(shepherd.readyPids()).containsExactlyInAnyOrderElementsOf(before);
    }

    @Test
    void topWithoutATerminalPrintsOneSnapshotAndExits() {
        shepherd.awaitReady(shepherd.snapshot().desired());
        List<Long> pids = shepherd.readyPids();

        CtlTests.Result result = ctl("top");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).startsWith("shepherd top  ·  http://127.0.0.1:" + shepherd.adminPort()).doesNotContain("q quits")
                .containsPattern("health UP  ·  workers \\d+ ready of \\d+ desired").contains("ID  INDEX  PID");
        pids.forEach(pid -> assertThat(result.out()).containsPattern("(?m)^\\d+\\s+\\d+\\s+" + pid + "\\s+READY\\s"));

        // top -b -n 2, as top(1) is run for a snapshot: two of them, a second apart (it said "Unknown options").
        CtlTests.Result two = ctl("top", "-b", "-n", "2");
        assertThat(two.code()).as(two.err()).isZero();
        assertThat(two.out().split("shepherd top  ·  ", -1)).hasSize(3);
    }

    @Test
    void wrongTokenGetsTheTokenLine() {
        CtlTests.Result result = CtlTests.run(Map.of("SHEPHERD_ADMIN_URL", env.get("SHEPHERD_ADMIN_URL")), "ls", "--token", "wrong");

        assertThat(result.code()).isEqualTo(Ctl.FAILED);
        assertThat(result.err()).isEqualTo("the admin API refused the token: set --token, SHEPHERD_ADMIN_TOKEN or SHEPHERD_ADMIN_TOKEN_FILE\n");
    }

    @Test
    void httpsToThePlainAdminPortSaysToUseHttp() {
        String authority = "127.0.0.1:" + shepherd.adminPort();
        CtlTests.Result result = CtlTests.run(Map.of("SHEPHERD_ADMIN_URL", "https://" + authority), "status");

        // It said "is the master running?" (found by an attacking helper): the master was reached.
        assertThat(result.code()).isEqualTo(Ctl.FAILED);
        assertThat(result.err()).startsWith("the admin port at https://" + authority + " does not answer TLS (")
                .endsWith("): if it is Shepherd's admin port without TLS, set --admin or SHEPHERD_ADMIN_URL to http://"
                        + authority + "\n");
    }

    /** status shows the health, which the master answers without the token; every other command says one is needed. */
    @Test
    void missingTokenSaysThatOneIsNeeded() {
        Map<String, String> noToken = Map.of("SHEPHERD_ADMIN_URL", env.get("SHEPHERD_ADMIN_URL"));
        CtlTests.Result result = CtlTests.run(noToken, "ls");
        CtlTests.Result status = CtlTests.run(noToken, "status");

        assertThat(result.code()).isEqualTo(Ctl.FAILED);
        assertThat(result.err()).isEqualTo("the admin API wants a token: set --token, SHEPHERD_ADMIN_TOKEN or SHEPHERD_ADMIN_TOKEN_FILE\n");
        assertThat(status.code()).as(status.err()).isEqualTo(Ctl.OK);
        assertThat(status.out()).isEqualTo("health   UP\n");
        assertThat(status.err()).startsWith("the workers, the last crash and the latest reload need the admin token");
    }

    @Test
    void theMainEntryPointRunsCtlInAJvmOfItsOwnWithoutSpring() throws IOException, InterruptedException {
        List<Long> pids = shepherd.readyPids();
        List<String> command = new ArrayList<>(RunningShepherd.javaCommand(ShepherdApplication.class, "-Xmx64m"));
        command.addAll(List.of("ctl", "ls"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        try {
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("ctl ls ended").isTrue();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.exitValue()).as(output).isZero();
            assertThat(output).startsWith("ID  INDEX  PID").doesNotContain("Spring", "INFO");
            assertThat(output).contains(Long.toString(pids.get(0)));
        } finally {
            process.destroyForcibly();
        }
    }
}
