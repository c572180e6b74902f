package dev.shepherd.ctl;

import com.sun.net.httpserver.HttpServer;
import dev.shepherd.ShepherdApplication;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code shepherd reload} against a fake admin API (the JDK's HTTP server) that records what it is sent. */
class ReloadCommandTests {

    record Received(String method, String path, String contentType, String body) {
    }

    private final List<Received> received = new CopyOnWriteArrayList<>();
    /** What GET /fleet/reload answers, one at a time; the last answer is repeated. */
    private final Deque<String> reloadStatuses = new ConcurrentLinkedDeque<>(List.of(FAILED));
    private static final String STARTED = "data: {\"type\":\"RELOAD_STARTED\",\"message\":\"reload to generation 2 started: 2 workers to replace\"}\n\n";
    private volatile String events = STARTED + "data: {\"type\":\"RELOAD_FAILED\",\"message\":\"reload to generation 2 failed\"}\n\n";
    /** What GET /fleet/events answers as JSON: the recent events. */
    private volatile String recentEvents = "[]";
    /** What POST /fleet/reload and /fleet/reload/undo answer. */
    private volatile String started = "{\"state\":\"RUNNING\",\"generation\":2,\"total\":2,\"replaced\":0}";
    private HttpServer server;
    private Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/fleet/events", exchange -> {
            if (String.valueOf(exchange.getRequestHeaders().getFirst("Accept")).contains("application/json")) {
                CtlTests.answer(exchange, 200, recentEvents);
                return;
            }
            exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            exchange.getResponseBody().write(events.getBytes(StandardCharsets.UTF_8));
            exchange.close();
        });
        server.createContext("/fleet/reload", exchange -> {
            if (exchange.getRequestMethod().equals("GET")) {
                String status = reloadStatuses.size() > 1 ? reloadStatuses.poll() : reloadStatuses.peek();
                if (status.equals(GONE)) {
                    exchange.close(); // the master went away: no answer
                    return;
                }
                CtlTests.answer(exchange, 200, status);
                return;
            }
            received.add(new Received(exchange.getRequestMethod(), exchange.getRequestURI().getPath(),
                    exchange.getRequestHeaders().getFirst("Content-Type"),
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
            CtlTests.answer(exchange, 202, started);
        });
        server.start();
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** A status that is not answered: the connection closes. */
    private static final String GONE = "gone";
    private static final String FAILED = "{\"state\":\"FAILED\",\"generation\":2,\"total\":2,\"replaced\":0,"
            + "\"reason\":\"worker 3 (pid 77) exited with code 3 before it was READY; last lines:\\nstarting\\nboom\","
            + "\"problem\":{\"title\":\"Reload failed\",\"worker\":3,\"lastLines\":[\"starting\",\"boom\"],"
            + "\"errorLine\":\"Error: Cannot find module 'x'\"}}";

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void optionsAreSentAsTheJsonBody() {
        CtlTests.Result result = CtlTests.run(env, "reload", "--command", "node,app-v2.js", "-e", "K=V", "--unset-env", "GONE",
                "--dir", "/srv/app-1.4", "--readiness-path", "/ready", "--no-wait");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("reload to generation 2 running: 0 of 2 workers replaced\n");
        assertThat(received).containsExactly(new Received("POST", "/fleet/reload", "application/json",
                "{\"command\":[\"node\",\"app-v2.js\"],\"environment\":{\"K\":\"V\",\"GONE\":null},"
                        + "\"workingDirectory\":\"/srv/app-1.4\",\"readinessPath\":\"/ready\"}"));
    }

    /**
     * Found by a helper acting as a new user: {@code --command app-v2.js}, a file there, failed with the JDK's "No such
     * file or directory", where {@code start app.js} runs it with node. A script that is a file in --dir and not
     * executable gets its interpreter, with a note; an executable one, or one not found, is sent as typed.
     */
    @Test
    void aScriptAsTheCommandRunsWithItsInterpreterAsStartRunsIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Files.writeString(dir.resolve("app-v2.js"), "require('http')");
        java.nio.file.Path executable = java.nio.file.Files.writeString(dir.resolve("run.sh"), "#!/bin/sh\n");
        executable.toFile().setExecutable(true);

        CtlTests.Result script = CtlTests.run(env, "reload", "--command", "app-v2.js,--port,{port}", "--dir",
                dir.toString(), "--no-wait");
        assertThat(script.code()).as(script.err()).isZero();
        assertThat(script.err()).isEqualTo("shepherd reload: running app-v2.js with node, as start and PM2 do (give "
                + "another interpreter first in --command to pick it)\n");
        CtlTests.Result runnable = CtlTests.run(env, "reload", "--command", "run.sh", "--dir", dir.toString(), "--no-wait");
        CtlTests.Result missing = CtlTests.run(env, "reload", "--command", "gone.js", "--dir", dir.toString(), "--no-wait");
        assertThat(runnable.err() + missing.err()).isEmpty();
        assertThat(received).extracting(Received::body).containsExactly(
                "{\"command\":[\"node\",\"app-v2.js\",\"--port\",\"{port}\"],\"workingDirectory\":\"" + dir + "\"}",
                "{\"command\":[\"run.sh\"],\"workingDirectory\":\"" + dir + "\"}",
                "{\"command\":[\"gone.js\"],\"workingDirectory\":\"" + dir + "\"}");
    }

    @Test
    void undoPostsToItsOwnResourceWithoutABodyAndTakesNoSpecOption() {
        CtlTests.Result result = CtlTests.run(env, "reload", "--undo", "--no-wait");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(received).containsExactly(new Received("POST", "/fleet/reload/undo", null, ""));

        received.clear();
        CtlTests.Result mixed = CtlTests.run(env, "reload", "--undo", "--env", "A=1");
        assertThat(mixed.code()).isEqualTo(Ctl.USAGE);
        assertThat(mixed.err()).startsWith("--undo goes back to the earlier spec as it was; it takes no --command");
        assertThat(received).isEmpty();
    }

    /**
     * Stopped while it waits (Ctrl-C, a TERM), the command says that the reload goes on in the master: its silent
     * exit read as a cancelled deploy (a new user's find). A real JVM, whose shutdown hooks run on the signal.
     */
    @Test
    void stoppedWhileWaitingItSaysTheReloadGoesOn() throws Exception {
        CountDownLatch streaming = new CountDownLatch(1);
        CountDownLatch over = new CountDownLatch(1);
        HttpServer master = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        master.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        master.createContext("/fleet/reload", exchange -> CtlTests.answer(exchange, 202,
                "{\"state\":\"RUNNING\",\"generation\":2,\"total\":2,\"replaced\":0}"));
        master.createContext("/fleet/events", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
            exchange.sendResponseHeaders(200, 0);
            exchange.getResponseBody().write(STARTED.getBytes(StandardCharsets.UTF_8));
            exchange.getResponseBody().flush();
            streaming.countDown();
            try {
                over.await(30, TimeUnit.SECONDS); // the reload runs on; the stream stays open
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        master.start();
        List<String> command = new ArrayList<>(RunningShepherd.javaCommand(ShepherdApplication.class, "-Xmx64m"));
        command.addAll(List.of("ctl", "reload"));
        java.io.File errors = java.io.File.createTempFile("reload-stderr", ".txt");
        errors.deleteOnExit();
        // To a file: Process.destroy closes the pipes it gave.
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(errors);
        builder.environment().put("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + master.getAddress().getPort());
        Process process = builder.start();
        try {
            // The command says so from before it asks for the events: it waits now.
            assertThat(streaming.await(30, TimeUnit.SECONDS)).as("the command waits on the events").isTrue();
            process.destroy(); // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C's SIGINT
            assertThat(process.waitFor(20, TimeUnit.SECONDS)).isTrue();
            assertThat(java.nio.file.Files.readString(errors.toPath()))
                    .contains("shepherd reload: stopped waiting; the reload goes on in the master (shepherd status "
                            + "tells how it ends)");
        } finally {
            process.destroyForcibly();
            over.countDown();
            master.stop(0);
            ((java.util.concurrent.ExecutorService) master.getExecutor()).shutdown();
            errors.delete();
        }
    }

    @Test
    void withoutOptionsNoBodyIsSent() {
        CtlTests.Result result = CtlTests.run(env, "reload", "--no-wait");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(received).containsExactly(new Received("POST", "/fleet/reload", null, ""));
    }

    @Test
    void badOptionValueIsAUsageErrorBeforeAnyRequest() {
        CtlTests.Result result = CtlTests.run(env, "reload", "--env", "NO_EQUALS", "--wait");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).isEqualTo("--env wants NAME=VALUE (NAME= for an empty value), not 'NO_EQUALS' (see shepherd reload --help)\n");
        assertThat(received).isEmpty();
    }

    /** A new user's {@code --command "python3 app.py"} was sent, could not start and was rolled back. */
    @Test
    void aCommandSplitOnSpacesIsAUsageErrorBeforeAnyRequest() {
        CtlTests.Result result = CtlTests.run(env, "reload", "--command", "python3 examples/python/server.py");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).isEqualTo("--command is split on commas, not on spaces: 'python3 "
                + "examples/python/server.py' would be one program of that name; give one element per argument: "
                + "--command python3,examples/python/server.py (see shepherd reload --help)\n");
        assertThat(received).isEmpty();
    }

    /** {@code --no-wait} printed the status alone, without the {@code changed: ...} that the waiting form prints. */
    @Test
    void noWaitPrintsItsStartedEventWithWhatChanged() {
        recentEvents = "[{\"type\":\"RELOAD_STARTED\",\"message\":\"reload to generation 1 started: old\"},"
                + "{\"type\":\"RELOAD_STARTED\",\"message\":\"reload to generation 2 started: 2 workers to replace; "
                + "changed: command [node, app-v2.js]\"},{\"type\":\"SPAWNED\",\"message\":\"worker 3 started\"}]";

        CtlTests.Result result = CtlTests.run(env, "reload", "--command", "node,app-v2.js", "--no-wait");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("reload to generation 2 started: 2 workers to replace; changed: command "
                + "[node, app-v2.js]\nreload to generation 2 running: 0 of 2 workers replaced\n");
    }

    /**
     * A reload whose first worker could not be spawned is FAILED in the answer to its POST: it printed nothing on
     * standard output, where every other failed reload says it started (a new user's). An undo that stopped a
     * running reload answers with that reload's status, whose start is not told again.
     */
    @Test
    void aReloadThatFailedAtOnceSaysItStartedAsOtherFailedReloadsDo() {
        started = FAILED;
        recentEvents = "[{\"type\":\"RELOAD_STARTED\",\"message\":\"reload to generation 2 started: 2 workers to "
                + "replace; changed: command [nope]\"},{\"type\":\"RELOAD_FAILED\",\"message\":\"failed\"}]";

        CtlTests.Result result = CtlTests.run(env, "reload", "--command", "nope");
        CtlTests.Result undo = CtlTests.run(env, "reload", "--undo", "--no-wait");

        assertThat(result.code()).as(result.err()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(result.out()).startsWith("reload to generation 2 started: 2 workers to replace; changed: command "
                + "[nope]\nthe new worker's last output lines:\n");
        assertThat(result.err()).startsWith("reload to generation 2 failed and was rolled back: worker 3");
        assertThat(undo.out()).startsWith("reload to generation 2 failed").doesNotContain("started");
    }

    /**
     * A reload whose answer says it failed at once is told as {@code --wait} tells it, {@code --no-wait} too: it said
     * "failed and was rolled back" on standard output and exited 0, so "reload --no-wait && echo deployed" said
     * deployed (a new user's).
     */
    @Test
    void noWaitOfAReloadThatFailedAtOnceExitsRolledBackWithTheReasonOnStandardError() {
        started = FAILED;
        recentEvents = "[{\"type\":\"RELOAD_STARTED\",\"message\":\"reload to generation 2 started: 2 workers to "
                + "replace; changed: command\"}]";

        CtlTests.Result noWait = CtlTests.run(env, "reload", "--command", "nope", "--no-wait");
        CtlTests.Result waited = CtlTests.run(env, "reload", "--command", "nope");

        assertThat(noWait.code()).as(noWait.err()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(noWait.err()).isEqualTo(waited.err()).isEqualTo("reload to generation 2 failed and was rolled back: "
                + "worker 3 (pid 77) exited with code 3 before it was READY; last lines: | starting | boom\n");
        assertThat(noWait.out()).isEqualTo(waited.out()).startsWith("reload to generation 2 started: 2 workers to "
                + "replace; changed: command\nthe new worker's last output lines:\n").doesNotContain("failed");
        reloadStatuses.clear();
        reloadStatuses.add(FAILED.replace("}}", "},\"rollback\":\"STOPPED\"}"));
        assertThat(CtlTests.run(env, "reload", "--no-wait").code()).as("its rollback stopped").isEqualTo(Ctl.FAILED);
    }

    /** Waiting is the default, as {@code pm2 reload} blocks: {@code --wait} only says so. */
    @Test
    void waitedForRollbackPrintsTheNewWorkersLastLinesAndExitsRolledBack() {
        for (String wait : List.of("--wait", "")) {
            received.clear();
            reloadStatuses.clear();
            reloadStatuses.add(FAILED);
            CtlTests.Result result = CtlTests.run(env, wait.isEmpty() ? new String[] {"reload", "--command", "sh,-c,exit 3"}
                    : new String[] {"reload", "--command", "sh,-c,exit 3", wait});

            assertThat(result.code()).as(wait).isEqualTo(Ctl.ROLLED_BACK);
            assertThat(result.out()).isEqualTo("reload to generation 2 started: 2 workers to replace\n"
                    + "the new worker's last output lines:\n  starting\n  boom\nits error: Error: Cannot find module 'x'\nall of its output: shepherd logs 3\n");
            assertThat(result.err()).isEqualTo("reload to generation 2 failed and was rolled back: worker 3 (pid 77) exited "
                    + "with code 3 before it was READY; last lines: | starting | boom\n");
        }
    }

    /** "was rolled back" was printed while the rollback had only begun: the wait goes on until it is over. */
    @Test
    void theWaitEndsOnceTheRollbackIsOverPrintingItsSteps() {
        String rollingBack = FAILED.replace("}}", "},\"rollback\":\"RUNNING\"}");
        String finished = FAILED.replace("}}", "},\"rollback\":\"FINISHED\"}");
        reloadStatuses.clear();
        // The status says FINISHED at the last step already, before the event that says so is read.
        reloadStatuses.addAll(List.of(rollingBack, finished, finished));
        events = STARTED + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"reload: worker 1 replaced by worker 3 (1 of 2)\"}\n\n"
                + "data: {\"type\":\"RELOAD_FAILED\",\"message\":\"reload to generation 2 failed and is rolled back\"}\n\n"
                + "data: {\"type\":\"SPAWNED\",\"message\":\"worker 5 started\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"rollback: worker 3 (generation 2) replaced by worker 5\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"rollback of generation 2 finished\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"not read\"}\n\n";

        CtlTests.Result result = CtlTests.run(env, "reload", "--wait");

        assertThat(result.code()).as(result.err()).isEqualTo(Ctl.ROLLED_BACK);
        assertThat(result.out()).as("the events alone, the first saying it started")
                .isEqualTo("reload to generation 2 started: 2 workers to replace\n"
                + "reload: worker 1 replaced by worker 3 (1 of 2)\n"
                + "rollback: worker 3 (generation 2) replaced by worker 5\n"
                + "rollback of generation 2 finished\n"
                + "the new worker's last output lines:\n  starting\n  boom\nits error: Error: Cannot find module 'x'\nall of its output: shepherd logs 3\n");
        assertThat(result.err()).startsWith("reload to generation 2 failed and was rolled back: worker 3 (pid 77)");
    }

    /** An undo that stopped a running reload did what it was asked once the rollback finished: exit 0, not 3. */
    @Test
    void anUndoThatStoppedARunningReloadExitsOkOnceItsRollbackFinished() {
        String undone = "{\"state\":\"FAILED\",\"generation\":2,\"total\":2,\"replaced\":1,\"reason\":\"undone while "
                + "it ran\",\"rollback\":\"%s\"}";
        started = undone.formatted("RUNNING");
        reloadStatuses.clear();
        reloadStatuses.add(undone.formatted("FINISHED"));
        events = "data: {\"type\":\"RELOAD_FAILED\",\"message\":\"reload to generation 2 failed and is rolled back\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"rollback: worker 3 (generation 2) replaced by worker 5\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"rollback of generation 2 finished\"}\n\n";

        CtlTests.Result result = CtlTests.run(env, "reload", "--undo");

        assertThat(result.code()).as(result.err()).isEqualTo(Ctl.OK);
        assertThat(received).extracting(Received::path).containsExactly("/fleet/reload/undo");
        assertThat(result.out()).isEqualTo("rollback: worker 3 (generation 2) replaced by worker 5\n"
                + "rollback of generation 2 finished\n"
                + "reload to generation 2 stopped by the undo and rolled back: the fleet runs the spec it ran before it\n");
        assertThat(result.err()).isEmpty();

        reloadStatuses.clear();
        reloadStatuses.add(undone.formatted("STOPPED"));
        events = "data: {\"type\":\"RELOAD_FAILED\",\"message\":\"reload to generation 2 failed and is rolled back\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"rollback of generation 2 stopped: worker 5 crashed\"}\n\n";
        result = CtlTests.run(env, "reload", "--undo");
        assertThat(result.code()).as("workers of the undone spec still serve").isEqualTo(Ctl.FAILED);
        assertThat(result.err()).isEqualTo("reload to generation 2 stopped by the undo, but rollback of generation 2 "
                + "stopped: worker 5 crashed\n");
    }

    /** The master stopped the rollback as it shut down, and was gone before its status could be read: exit 3 said "rolled back". */
    @Test
    void aRollbackStoppedByTheMastersShutdownExitsFailedThoughTheStatusIsGone() {
        reloadStatuses.clear();
        reloadStatuses.addAll(List.of(FAILED.replace("}}", "},\"rollback\":\"RUNNING\"}"), GONE));
        events = STARTED + "data: {\"type\":\"RELOAD_FAILED\",\"message\":\"reload to generation 2 failed and is rolled back\"}\n\n"
                + "data: {\"type\":\"RELOAD_STEP\",\"message\":\"rollback of generation 2 stopped: the master is shutting down\"}\n\n";

        CtlTests.Result result = CtlTests.run(env, "reload", "--wait");

        assertThat(result.code()).as(result.err()).isEqualTo(Ctl.FAILED);
        assertThat(result.out()).endsWith("rollback of generation 2 stopped: the master is shutting down\n");
        assertThat(result.err()).isEqualTo("reload to generation 2 failed; rollback of generation 2 stopped: the "
                + "master is shutting down\n");
    }

    /**
     * The master's shutdown ended the reload waited for: exit 5, as for a master that went away, not 3, which tells
     * a script the old spec serves (found by a new user's attack: it said "failed and was rolled back").
     */
    @Test
    void aReloadTheMastersShutdownEndedExitsAsTheMasterGoneNotAsRolledBack() {
        reloadStatuses.clear();
        reloadStatuses.add("{\"state\":\"FAILED\",\"generation\":2,\"total\":2,\"replaced\":1,"
                + "\"reason\":\"the master is shutting down\",\"rollback\":\"NONE\"}");
        events = STARTED + "data: {\"type\":\"RELOAD_FAILED\",\"message\":\"reload to generation 2 failed: the master is "
                + "shutting down\"}\n\n";

        CtlTests.Result result = CtlTests.run(env, "reload", "--wait");

        assertThat(result.code()).as(result.err()).isEqualTo(Ctl.UNREACHABLE);
        assertThat(result.err()).isEqualTo("reload to generation 2 stopped: the master is shutting down (nothing was "
                + "rolled back; its workers stop with it)\n");
    }

    /** A script keyed on exit 3 took the fleet for the old spec while half of it ran the failed one. */
    @Test
    void aRollbackThatStoppedIsNoRollbackToTheExitCode() {
        String stopped = FAILED.replace("}}", "},\"rollback\":\"STOPPED\"}");
        reloadStatuses.clear();
        reloadStatuses.add(stopped);

        CtlTests.Result result = CtlTests.run(env, "reload", "--wait");

        assertThat(result.code()).as(result.err()).isEqualTo(Ctl.FAILED);
        assertThat(result.err()).startsWith("reload to generation 2 failed and its rollback stopped (workers of generation 2 "
                + "still serve): worker 3 (pid 77)");
    }
}
