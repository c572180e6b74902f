package dev.shepherd.ctl;

import dev.shepherd.Plural;
import dev.shepherd.TerminalText;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code shepherd reload [--command …] [--env K=V …] [--unset-env K …] [--dir …] [--readiness-path …] [--no-wait]}: a
 * zero-downtime rolling reload ({@code POST /fleet/reload}), to a new worker spec when an option names one (the
 * body {@link ReloadSpec} builds; none without options). It prints the reload's events as they happen and exits
 * {@value Ctl#OK} when the reload finished, or {@value Ctl#ROLLED_BACK} with the reason (from
 * {@code GET /fleet/reload}: the new worker's exit and last lines) when it failed and was rolled back; with
 * {@code --no-wait} it returns once the reload has started. {@code --undo} reloads back to the spec the last
 * successful reload replaced ({@code POST /fleet/reload/undo}), or stops a running one and rolls it back (exit
 * {@value Ctl#OK} once the rollback finished). A reload that the answer to its POST says failed already exits
 * {@value Ctl#ROLLED_BACK} with its reason, {@code --no-wait} or not.
 */
@Command(name = "reload", description = {"Replaces every worker, one at a time, without dropping a request; "
        + "with options, by workers of a new spec (a new version). Options left out keep the current value."},
        footer = {"%nExamples:", "  shepherd reload", "  shepherd reload --command java,-jar,/srv/app-1.4.jar",
                "  shepherd reload --env APP_VERSION=1.4 --unset-env OLD_FLAG --no-wait", "  shepherd reload --undo"})
class ReloadCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    /** PM2's {@code pm2 reload all}: the only word taken, since a reload replaces every worker anyway. */
    @Parameters(arity = "0..1", paramLabel = "all", description = "Optional, as in pm2 reload all: every worker is "
            + "replaced anyway (replace ID replaces one).")
    String all;

    @Option(names = "--command", paramLabel = "PROGRAM,ARG,...", description = "The new workers' command, in the comma "
            + "form of fleet.worker.command: split on every comma, each part trimmed, no escaping.")
    String command;

    @Option(names = {"-e", "--env"}, paramLabel = "NAME=VALUE", description = "Sets a variable of the new workers (NAME= for an "
            + "empty value); the others stay as they are. Repeatable.")
    List<String> env = new ArrayList<>();

    @Option(names = "--unset-env", paramLabel = "NAME", description = "Removes a variable from the new workers' "
            + "environment. Repeatable.")
    List<String> unsetEnv = new ArrayList<>();

    @Option(names = "--dir", paramLabel = "PATH", description = "The new workers' working directory: an absolute path "
            + "on the master's machine.")
    String dir;

    @Option(names = "--readiness-path", paramLabel = "PATH", description = "The path the master probes for readiness "
            + "on the new workers, e.g. /ready.")
    String readinessPath;

    @Option(names = "--undo", description = "Goes back to the spec the last successful reload replaced (kubectl rollout "
            + "undo), by a reload of its own; again, to go forward. The master keeps one earlier spec, in memory. "
            + "While a reload runs, stops it and rolls back its workers that took over.")
    boolean undo;

    /**
     * Waiting is the default, as {@code pm2 reload} blocks until it is done: without it, {@code shepherd reload &&
     * echo deployed} said deployed for a version that was rolled back a minute later (found by a new user).
     */
    @Option(names = "--wait", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Print the progress and exit when the reload is over (the default): 0 when it finished, "
            + Ctl.ROLLED_BACK + " when it was rolled back (with the new worker's exit and last output lines). "
            + "--no-wait returns once the reload has started (exit " + Ctl.ROLLED_BACK + " when it failed at once); "
            + "shepherd status tells how it ended.")
    boolean await;

    @Override
    public Integer call() {
        if (all != null && !all.equalsIgnoreCase("all")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "reload replaces every worker and takes no "
                    + "name but all, not '" + all + "'; replace ID replaces one worker");
        }
        String body = body();
        if (undo && body != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--undo goes back to the earlier spec as it "
                    + "was; it takes no --command, --env, --unset-env, --dir or --readiness-path");
        }
        String path = undo ? "/fleet/reload/undo" : "/fleet/reload";
        if (!await) {
            JsonNode status = ctl.client().post(path, body);
            printStarted(path, status);
            if (!path.endsWith("/undo") && "FAILED".equals(status.path("state").asString())) {
                // Failed at once (its first worker could not be spawned): the answer says so, and it is told as --wait
                // tells it, on standard error with exit 3; it said so on standard output with exit 0, and a script's
                // "reload --no-wait && echo deployed" said deployed (a new user's). An undo's FAILED is the reload it
                // stopped, as with --wait.
                throw rollback(describe(status), null);
            }
            ctl.out().println(describe(status));
            return Ctl.OK;
        }
        // Interrupted while it waits (Ctrl-C), the command ends and the reload goes on: said, since a PM2 or kubectl
        // user took the silent exit for a cancelled deploy (found by a new user).
        Thread interrupted = new Thread(() -> {
            ctl.err().println("shepherd reload: stopped waiting; the reload goes on in the master (shepherd status "
                    + "tells how it ends)");
            ctl.err().flush();
        }, "reload-interrupted");
        Runtime.getRuntime().addShutdownHook(interrupted);
        try {
            return waitFor(path, body);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(interrupted);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs: the JVM is going down
            }
        }
    }

    /** Starts the reload and prints its events until it is over; the exit code. */
    private int waitFor(String path, String body) {
        // Subscribe before the reload starts, so that none of its events can be missed.
        try (EventStream stream = EventStream.open(ctl.client())) {
            JsonNode started = ctl.client().post(path, body);
            // A running reload's first event says it started; a failure is told once, on standard error, when the
            // wait ends. Printed as well, "running: 0 of 2" came before "started" (found by a new user).
            if (!running(started) && !"FAILED".equals(started.path("state").asString())) {
                ctl.out().println(describe(started));
                ctl.out().flush();
            } else if (!running(started) && !rollingBack(started)) {
                // Failed at once (its first worker could not be spawned): the stream is not read, so its started
                // event is told from the recent ones, as for every other failed reload (a new user's).
                printStarted(path, started);
            }
            String[] failure = {null};
            // What the rollback's last event said, if it was read: the status may not be readable after it.
            String[] rollbackStopped = {null};
            // A failed reload's rollback is waited for too: its steps are printed, and the wait ends once
            // GET /fleet/reload no longer shows it rolling back.
            boolean over = !running(started) && !rollingBack(started) || stream.forEach(event -> {
                String type = event.path("type").asString("");
                if (type.startsWith("RELOAD_") && !type.equals("RELOAD_FAILED")) {
                    ctl.out().println(TerminalText.safe(event.path("message").asString(type)));
                    ctl.out().flush();
                }
                if (type.equals("RELOAD_FAILED")) {
                    failure[0] = event.path("message").asString(type);
                }
                if (failure[0] != null || "FAILED".equals(started.path("state").asString())) {
                    if (!type.equals("RELOAD_FAILED") && !type.equals("RELOAD_STEP")) {
                        return true;
                    }
                    Matcher last = ROLLBACK_OVER.matcher(event.path("message").asString(""));
                    if (last.lookingAt()) {
                        if (last.group(1).equals("stopped")) {
                            rollbackStopped[0] = TerminalText.safe(event.path("message").asString(""));
                        }
                        return false;
                    }
                    // The status says the rollback is over before its last event is read: read on to that event.
                    return !"NONE".equals(ctl.client().get("/fleet/reload").path("rollback").asString("NONE"));
                }
                return !type.equals("RELOAD_SUCCEEDED");
            });
            if (failure[0] != null && STOPPED_BY_SHUTDOWN.matcher(failure[0]).matches()) {
                // Not "rolled back" (exit 3: the old spec serves): the master goes away, its workers with it.
                throw new CtlException("reload to generation " + started.path("generation").asLong() + " stopped: "
                        + "the master is shutting down (nothing was rolled back; its workers stop with it)",
                        Ctl.UNREACHABLE);
            }
            // A rollback's end is its last event; a stream that ends first (the master stopping) ends the wait
            // only when the status says the rollback is over.
            if (!over && !(failure[0] != null && !rollingBack(ctl.client().get("/fleet/reload")))) {
                throw new CtlException("the event stream ended before the reload did (the master stopped or "
                        + "restarted?): see shepherd status", Ctl.UNREACHABLE);
            }
            if (failure[0] == null && !"FAILED".equals(started.path("state").asString())) {
                return Ctl.OK;
            }
            if (path.endsWith("/undo") && "FAILED".equals(started.path("state").asString())) {
                return undone(started, rollbackStopped[0]);
            }
            throw rollback(failure[0] != null ? failure[0] : describe(started), rollbackStopped[0] == null ? null
                    : "reload to generation " + started.path("generation").asLong() + " failed; " + rollbackStopped[0]);
        }
    }

    /**
     * The {@code RELOAD_STARTED} event's message of the reload {@code status} says, from the recent events ("reload to
     * generation 3 started: 2 workers to replace; changed: command ..."): what changed, which the status has not
     * ({@code --no-wait} printed the status alone; a new user's). Nothing when there is none, when the recent events
     * cannot be read, or when an undo stopped a running reload ({@code status} is that reload's: its start is old news).
     */
    private void printStarted(String path, JsonNode status) {
        if (path.endsWith("/undo") && "FAILED".equals(status.path("state").asString())
                || "IDLE".equals(status.path("state").asString("IDLE"))) {
            return;
        }
        String prefix = "reload to generation " + status.path("generation").asLong() + " started";
        JsonNode events;
        try {
            events = ctl.client().get("/fleet/events");
        } catch (CtlException unread) {
            return;
        }
        String line = null;
        for (JsonNode event : events.isArray() ? events.values() : List.<JsonNode>of()) {
            String message = event.path("message").asString("");
            if ("RELOAD_STARTED".equals(event.path("type").asString("")) && message.startsWith(prefix)) {
                line = message;
            }
        }
        if (line != null) {
            ctl.out().println(TerminalText.safe(line));
            ctl.out().flush();
        }
    }

    /**
     * The undo stopped a running reload ({@code started}, FAILED as undone), whose rollback is over: done, unless the
     * rollback stopped part way ({@code stopped}: its last event's line, or null).
     */
    private int undone(JsonNode started, String stopped) {
        JsonNode status;
        try {
            status = ctl.client().get("/fleet/reload");
        } catch (CtlException ex) {
            status = started;
        }
        long generation = started.path("generation").asLong();
        if (stopped != null || "STOPPED".equals(status.path("rollback").asString(""))) {
            throw new CtlException("reload to generation " + generation + " stopped by the undo, but "
                    + (stopped != null ? stopped : "its rollback stopped part way: see shepherd status"), Ctl.FAILED);
        }
        ctl.out().println("reload to generation " + generation + " stopped by the undo" + (status.path("replaced").asInt()
                > 0 ? " and rolled back" : "") + ": the fleet runs the spec it ran before it");
        return Ctl.OK;
    }

    /** The reload's body, or null without options; a value that cannot be sent is a usage error, before any request. */
    String body() {
        try {
            ReloadSpec reload = new ReloadSpec(command, env, unsetEnv, dir, readinessPath);
            return reload.isEmpty() ? null : reload.toJson();
        } catch (IllegalArgumentException ex) {
            throw new CommandLine.ParameterException(spec.commandLine(), ex.getMessage());
        }
    }

    /**
     * The failure of a reload waited for: one line, {@code GET /fleet/reload}'s status, whose reason has the new
     * worker's exit and last lines (those are printed on standard output first, one a line), or the event's message
     * when the master has no such resource; exit code {@value Ctl#ROLLED_BACK}, or {@value Ctl#FAILED} when the
     * rollback stopped part way. {@code stopped}: the line for a rollback whose last event said it stopped, used
     * when the status cannot be read after it (the master stopping); null when no such event was read.
     */
    private CtlException rollback(String fallback, String stopped) {
        // Without the status (the master went away after the rollback's last event: it stops a rollback as it
        // shuts down), the events tell.
        CtlException fromEvents = stopped != null ? new CtlException(stopped, Ctl.FAILED)
                : new CtlException(fallback, Ctl.ROLLED_BACK);
        JsonNode status;
        try {
            status = ctl.client().get("/fleet/reload");
        } catch (CtlException ex) {
            return fromEvents;
        }
        if (!"FAILED".equals(status.path("state").asString())) {
            return fromEvents;
        }
        JsonNode problem = status.path("problem");
        JsonNode lastLines = problem.path("lastLines");
        if (lastLines.isArray() && !lastLines.isEmpty()) {
            ctl.out().println("the new worker's last output lines:");
            lastLines.values().forEach(line -> ctl.out().println("  " + TerminalText.safe(line.asString(""))));
            String errorLine = problem.path("errorLine").asString(null);
            if (errorLine != null && lastLines.values().stream().noneMatch(line -> errorLine.equals(line.asString("")))) {
                ctl.out().println("its error: " + TerminalText.safe(errorLine));
            }
            if (problem.path("worker").isInt()) {
                ctl.out().println("all of its output: shepherd logs " + problem.path("worker").asInt());
            }
            ctl.out().flush();
        }
        // A rollback that stopped left workers of the failed spec serving: not "rolled back" to a script.
        return new CtlException(describe(status), "STOPPED".equals(status.path("rollback").asString(""))
                ? Ctl.FAILED : Ctl.ROLLED_BACK);
    }

    /**
     * The message of the {@code RELOAD_FAILED} event of a reload that the master's shutdown ended (the master's
     * {@code Supervisor} cancels it so), with no rollback.
     */
    private static final Pattern STOPPED_BY_SHUTDOWN = Pattern.compile("reload to generation \\d+ failed: the master is "
            + "shutting down");

    /** The message of a rollback's last event ({@code RELOAD_STEP}), which ends a wait for a failed reload. */
    private static final Pattern ROLLBACK_OVER = Pattern.compile("rollback of generation \\d+ (finished|stopped)");

    /** Whether {@code reload} (a status of the API) is a failed reload still being rolled back. */
    private static boolean rollingBack(JsonNode reload) {
        return "RUNNING".equals(reload.path("rollback").asString(""));
    }

    private static boolean running(JsonNode reload) {
        return "RUNNING".equals(reload.path("state").asString());
    }

    /** One line for a reload status of the API ({@code reload} of {@code GET /fleet}): the reason's lines joined by " | ". */
    static String describe(JsonNode reload) {
        String state = reload.path("state").asString("IDLE");
        long generation = reload.path("generation").asLong();
        String progress = reload.path("replaced").asInt() + " of " + Plural.of(reload.path("total").asInt(), "worker")
                + " replaced";
        return switch (state) {
            case "IDLE" -> "none since the master started (generation " + generation + ")";
            case "RUNNING" -> "reload to generation " + generation + " running: " + progress;
            case "SUCCEEDED" -> "reload to generation " + generation + " succeeded at "
                    + TerminalText.safe(EventStream.millis(reload.path("finishedAt").asString("?"))) + ": " + progress;
            default -> "reload to generation " + generation + " failed" + switch (reload.path("rollback").asString("")) {
                case "RUNNING" -> " and is being rolled back";
                case "STOPPED" -> " and its rollback stopped (workers of generation " + generation + " still serve)";
                default -> " and was rolled back";
            } + ": "
                    + TerminalText.safe(reload.path("reason").asString("no reason given").replaceAll("\\s*\\R\\s*", " | "));
        };
    }
}
