package dev.shepherd.ctl;

import dev.shepherd.StartProgram;
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

/**
 * {@code shepherd reload [--command …] [--env K=V …] [--unset-env K …] [--dir …] [--readiness-path …] [--no-wait]}: a
 * zero-downtime rolling reload ({@code POST /fleet/reload}), to a new worker spec when an option names one (the
 * body {@link ReloadSpec} builds; none without options). It prints the reload's events as they happen and exits
 * {@value Ctl#OK} when the reload finished, or {@value Ctl#ROLLED_BACK} with the reason (from
 * {@code GET /fleet/reload}: the new worker's exit and last lines) when it failed and was rolled back; with
 * {@code --no-wait} it returns once the reload has started. {@code --undo} reloads back to the spec the last
 * successful reload replaced ({@code POST /fleet/reload/undo}), or stops a running one and rolls it back (exit
 * {@value Ctl#OK} once the rollback finished). A reload that the answer to its POST says failed already exits
 * {@value Ctl#ROLLED_BACK} with its reason, {@code --no-wait} or not. The wait is {@link ReloadWait}'s; what is said
 * of a reload's status, {@link ReloadReport}'s.
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
        return await ? waitFor(path, body) : start(path, body);
    }

    /**
     * A script as the command's program that is a file here, not executable ({@code --command app-v2.js}), runs with
     * its interpreter, as {@code shepherd start app.js} runs it, with a note ({@link StartProgram#interpreterFor}):
     * {@code typed} with the interpreter first, or as it is.
     */
    private String withInterpreter(String typed) {
        if (typed == null || typed.isBlank()) {
            return typed;
        }
        String program = typed.split(",", -1)[0].trim();
        String interpreter = StartProgram.interpreterFor(program, dir);
        if (interpreter == null) {
            return typed;
        }
        ctl.err().println("shepherd reload: running " + TerminalText.safe(program) + " with " + interpreter
                + ", as start and PM2 do (give another interpreter first in --command to pick it)");
        ctl.err().flush();
        return interpreter + "," + typed;
    }

    /** {@code --no-wait}: starts the reload and says how it started; the exit code. */
    private int start(String path, String body) {
        ReloadReport report = new ReloadReport(ctl);
        JsonNode status = ctl.client().post(path, body);
        report.printStarted(path, status);
        if (!path.endsWith("/undo") && "FAILED".equals(status.path("state").asString())) {
            // Failed at once (its first worker could not be spawned): the answer says so, and it is told as --wait
            // tells it, on standard error with exit 3; it said so on standard output with exit 0, and a script's
            // "reload --no-wait && echo deployed" said deployed (a new user's). An undo's FAILED is the reload it
            // stopped, as with --wait.
            throw report.rollback(ReloadReport.describe(status), null);
        }
        ctl.out().println(ReloadReport.describe(status));
        return Ctl.OK;
    }

    /** Starts the reload and prints its events until it is over ({@link ReloadWait}); the exit code. */
    private int waitFor(String path, String body) {
        // Interrupted while it waits (Ctrl-C), the command ends and the reload goes on: said, since a PM2 or kubectl
        // user took the silent exit for a cancelled deploy (found by a new user).
        Thread interrupted = new Thread(() -> {
            ctl.err().println("shepherd reload: stopped waiting; the reload goes on in the master (shepherd status "
                    + "tells how it ends)");
            ctl.err().flush();
        }, "reload-interrupted");
        Runtime.getRuntime().addShutdownHook(interrupted);
        try {
            return new ReloadWait(ctl, new ReloadReport(ctl), path).run(body);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(interrupted);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs: the JVM is going down
            }
        }
    }

    /** The reload's body, or null without options; a value that cannot be sent is a usage error, before any request. */
    String body() {
        try {
            ReloadSpec reload = new ReloadSpec(withInterpreter(command), env, unsetEnv, dir, readinessPath);
            return reload.isEmpty() ? null : reload.toJson();
        } catch (IllegalArgumentException ex) {
            throw new CommandLine.ParameterException(spec.commandLine(), ex.getMessage());
        }
    }
}
