package dev.shepherd;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntSupplier;

/**
 * {@code shepherd start [-i N] [-p PORT] ... PROGRAM [ARG...]}: runs the master in the foreground with the worker's
 * command as it is typed, as {@code pm2-runtime start app.js -i 4} and {@code gunicorn -w 4 app:app} do (a service
 * manager keeps it running: systemd, Docker). Each word after the options is one element of
 * {@code fleet.worker.command}, so an argument may hold a comma, which the comma form of the setting splits; the
 * program's own options stay its own ({@code start node --inspect app.js}), but those of start's that PM2 takes
 * after the script ({@code -i}, {@code -p}...) are refused there unless a {@code --} leaves them to the program
 * ({@link OptionsAfterProgram}, {@link StartProgram}). The options become the master's settings ({@link
 * StartSettings}); any other setting goes with {@code --set NAME=VALUE}, or as an environment variable.
 *
 * <p>Parsed by picocli; used once, on {@code main}'s thread, before Spring Boot starts.
 */
@Command(name = "shepherd start", sortOptions = false,
        description = {"Runs the Shepherd master in the foreground, with PROGRAM [ARG...] as each worker's command "
                + "(pm2-runtime start, gunicorn -w). Without PROGRAM the workers run fleet.worker.command from the "
                + "configuration, else the built-in demo worker.",
                "A worker is READY, and gets requests, once GET /health on its PORT answers 2xx: an app without one "
                        + "wants --set fleet.readiness.path=/ (a path it serves), or --set fleet.readiness.path= (a "
                        + "TCP connect).",
                "{port}, {id} and {index} in an argument are replaced by the worker's port, id and index; the worker "
                        + "also gets them as PORT, SHEPHERD_WORKER_ID and SHEPHERD_WORKER_INDEX."},
        footer = {"", "Example: shepherd start -i max -p 8080 --max-memory-restart 300MB node server.js",
                "The master's JVM options come from JAVA_OPTS (default: the README's master flags)."})
public final class StartCommand {

    /**
     * The prefix of the settings that say which of start's options gave a setting: {@code
     * shepherd.start.option.server.port=-p}, so that the master's messages about it name what was typed
     * ({@link ConfigurationFailureAnalyzer}, {@link AdminUrlNote}). The master runs in the same JVM, after start.
     */
    static final String TYPED_OPTION = "shepherd.start.option.";

    /** The word that selects this command: {@code java -jar shepherd.jar start ...}, {@code bin/shepherd start ...}. */
    public static final String NAME = "start";

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Shows this help and exits.")
    boolean help;

    @Option(names = {"-i", "--instances"}, paramLabel = "N",
            description = "Workers to run: a number, or max (one per CPU; as 0). A negative number is that many fewer "
                    + "than the CPUs, at least 1, as in PM2. Default: one per CPU (fleet.workers).")
    String instances;

    @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "The proxy's port (server.port; default 8080).")
    Integer port;

    @Option(names = "--admin-port", paramLabel = "PORT",
            description = "The admin API's port (management.server.port; default 8081).")
    Integer adminPort;

    @Option(names = "--cwd", paramLabel = "DIR", description = "The directory workers run in (fleet.worker.working-directory).")
    String workingDirectory;

    @Option(names = {"-e", "--env"}, paramLabel = "NAME=VALUE",
            description = "A variable for every worker (fleet.worker.environment); repeatable.")
    Map<String, String> environment = new LinkedHashMap<>();

    @Option(names = "--max-memory-restart", paramLabel = "SIZE",
            description = "Replace a worker whose memory passes SIZE, such as 300MB or PM2's 300M (fleet.worker.max-memory).")
    String maxMemory;

    @Option(names = "--set", paramLabel = "NAME=VALUE",
            description = "Any other setting, such as --set fleet.proxy.balancer=least-request; repeatable.")
    Map<String, String> settings = new LinkedHashMap<>();

    @Parameters(paramLabel = "PROGRAM [ARG...]", arity = "0..*",
            description = "The worker's program and its arguments, as they would be typed. One of start's options "
                    + "that PM2 takes after the script (-i, -p, --max-memory-restart...) goes before PROGRAM; a -- "
                    + "before PROGRAM makes every word after it the program's: start -- app.js -i 1.")
    List<String> command = new ArrayList<>();

    private StartCommand() {
    }

    /**
     * What {@code args} (the words after {@code start}) ask for.
     *
     * @param processors the CPUs, for {@code -i max}
     * @return the master's Spring Boot arguments ({@code --name=value}), or null when the command has answered by
     *         itself: help printed to {@code out}, or a usage error to {@code err} (its exit code then in
     *         {@code exitCode[0]}: 0 for help, 2 for a usage error)
     */
    public static List<String> springArguments(String[] args, PrintWriter out, PrintWriter err, IntSupplier processors,
                                        int[] exitCode) {
        return springArguments(args, out, err, processors, exitCode, System.getenv());
    }

    /** As {@link #springArguments(String[], PrintWriter, PrintWriter, IntSupplier, int[])}, in the environment {@code env}. */
    static List<String> springArguments(String[] args, PrintWriter out, PrintWriter err, IntSupplier processors,
                                        int[] exitCode, Map<String, String> env) {
        StartCommand start = new StartCommand();
        CommandLine line = new CommandLine(start);
        // The program's own options are its own: "start node --inspect app.js" gives node --inspect.
        line.setStopAtPositional(true).setOut(out).setErr(err);
        try {
            CommandLine.ParseResult parsed = line.parseArgs(args);
            if (CommandLine.executeHelpRequest(parsed) != null) {
                exitCode[0] = 0;
                return null;
            }
            StartProgram.AfterProgram after = StartProgram.afterProgram(parsed.originalArgs(), start.command,
                    line.getCommandSpec());
            if (!after.refusal().isEmpty()) {
                after.refusal().forEach(err::println);
                err.flush();
                exitCode[0] = 2;
                return null;
            }
            // Told once every argument is checked: before a usage error, "running app.py with python3, as PM2 does"
            // read as if the start went on (a new user's).
            StringWriter notes = new StringWriter();
            PrintWriter noted = new PrintWriter(notes);
            after.notes().forEach(noted::println);
            StartNotes.tellNoProgram(start.command, noted);
            StartProgram.addInterpreter(line, start.command, start.workingDirectory, noted, env);
            StartNotes.warnOfSavedState(start.command, start.instances, start.settings, noted, env);
            List<String> spring = StartSettings.of(start, line, processors);
            err.print(notes);
            err.flush();
            return spring;
        } catch (CommandLine.ParameterException ex) {
            tellUsageError(ex, err);
            exitCode[0] = 2;
            return null;
        }
    }

    /** {@code error} on {@code err} in the command line's words, with what does it here for gunicorn's or PM2's option. */
    private static void tellUsageError(CommandLine.ParameterException error, PrintWriter err) {
        err.println(TerminalText.safe(UsageMessages.reword(error.getMessage())) + " (see shepherd start --help)");
        if (error instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String hint = StartHabits.hint(unmatched.getUnmatched().get(0));
            if (hint != null) {
                err.println(hint);
            }
        }
        err.flush();
    }
}
