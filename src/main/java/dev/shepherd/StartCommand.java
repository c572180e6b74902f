package dev.shepherd;

import org.springframework.util.unit.DataSize;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code shepherd start [-i N] [-p PORT] ... PROGRAM [ARG...]}: runs the master in the foreground with the worker's
 * command as it is typed, as {@code pm2-runtime start app.js -i 4} and {@code gunicorn -w 4 app:app} do (a service
 * manager keeps it running: systemd, Docker). Each word after the options is one element of
 * {@code fleet.worker.command}, so an argument may hold a comma, which the comma form of the setting splits; the
 * program's own options stay its own ({@code start node --inspect app.js}), but those of start's that PM2 takes
 * after the script ({@code -i}, {@code -p}...) are refused there unless a {@code --} leaves them to the program
 * ({@link OptionsAfterProgram}). The options become the master's settings;
 * any other setting goes with {@code --set NAME=VALUE}, or as an environment variable.
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

    /** A setting's name as {@code --set} takes it: dotted, such as {@code fleet.proxy.balancer}. */
    private static final Pattern SETTING = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_\\[\\]-]+)+");
    /** A size in PM2's form: a number and one letter, K, M or G ({@code 300M}). */
    private static final Pattern PM2_SIZE = Pattern.compile("(\\d+)([kKmMgG])");
    /** An environment variable's name (POSIX: letters, digits and underscores, not starting with a digit). */
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

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
            List<String> refusal = start.checkProgramArguments(parsed.originalArgs(), line.getCommandSpec());
            if (!refusal.isEmpty()) {
                refusal.forEach(err::println);
                err.flush();
                exitCode[0] = 2;
                return null;
            }
            // Told once every argument is checked: before a usage error, "running app.py with python3, as PM2 does"
            // read as if the start went on (a new user's).
            StringWriter notes = new StringWriter();
            PrintWriter noted = new PrintWriter(notes);
            start.programNotes.forEach(noted::println);
            start.tellNoProgram(noted);
            start.addInterpreter(line, noted, env);
            start.warnOfSavedState(noted, env);
            List<String> spring = start.toSpringArguments(line, processors);
            err.print(notes);
            err.flush();
            return spring;
        } catch (CommandLine.ParameterException ex) {
            err.println(TerminalText.safe(UsageMessages.reword(ex.getMessage())) + " (see shepherd start --help)");
            if (ex instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
                String typed = unmatched.getUnmatched().get(0);
                String hint = HABITS.get(typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed);
                if (hint != null) {
                    err.println(hint);
                }
            }
            err.flush();
            exitCode[0] = 2;
            return null;
        }
    }

    /**
     * {@code value} when it is a TCP port (0: any free one), else a usage error at once, not after the master's start
     * (a new user's {@code -p 99999} was refused by Spring Boot some 30 s later, with exit 1).
     */
    private static int port(CommandLine line, String option, int value) {
        if (value < 0 || value > 65_535) {
            throw new CommandLine.ParameterException(line, option + " must be a port, 0 to 65535 (0: any free one), not "
                    + value);
        }
        return value;
    }

    private List<String> toSpringArguments(CommandLine line, IntSupplier processors) {
        List<String> spring = new ArrayList<>();
        if (instances != null) {
            spring.add("--fleet.workers=" + workers(line, instances, processors.getAsInt()));
        }
        if (port != null) {
            spring.add("--server.port=" + port(line, "-p", port));
            spring.add("--" + TYPED_OPTION + "server.port=" + typed(line, "-p"));
        }
        if (adminPort != null) {
            spring.add("--management.server.port=" + port(line, "--admin-port", adminPort));
            spring.add("--" + TYPED_OPTION + "management.server.port=--admin-port");
        }
        if (port != null && port.equals(adminPort) && port != 0) {
            throw new CommandLine.ParameterException(line, "-p and --admin-port are both " + port + ": the proxy and "
                    + "the admin API need ports of their own");
        }
        if (workingDirectory != null) {
            spring.add("--fleet.worker.working-directory=" + literal(workingDirectory));
        }
        if (maxMemory != null) {
            spring.add("--fleet.worker.max-memory=" + memorySize(line, maxMemory));
        }
        environment.forEach((name, value) -> {
            if (!VARIABLE.matcher(name).matches()) {
                throw new CommandLine.ParameterException(line, "--env " + name + "=...: '" + name
                        + "' is not a variable name (letters, digits and _)");
            }
            spring.add("--fleet.worker.environment[" + name + "]=" + literal(value));
        });
        for (int i = 0; i < command.size(); i++) {
            spring.add("--fleet.worker.command[" + i + "]=" + literal(command.get(i)));
        }
        List<String> own = spring.stream().map(arg -> uniform(arg.substring(2, arg.indexOf('=')))).toList();
        settings.forEach((name, value) -> {
            if (!SETTING.matcher(name).matches()) {
                throw new CommandLine.ParameterException(line, "--set " + name + "=...: '" + name + "' is not a "
                        + "setting's name (settings have dotted names, such as fleet.proxy.balancer)");
            }
            // Found by an attacking helper: --set fleet.worker.command=... replaced PROGRAM without a word, and
            // --set server.PORT=... lost to -p the same way.
            String uniform = uniform(name);
            if (own.contains(uniform) || !command.isEmpty() && uniform.replaceAll("\\[[^]]*]", "")
                    .equals("fleet.worker.command")) {
                throw new CommandLine.ParameterException(line, "--set " + name + "=...: start sets " + name
                        + " itself from its options or PROGRAM [ARG...]; give it once");
            }
            spring.add("--" + name + "=" + value);
        });
        return spring;
    }

    /**
     * PM2's {@code --name}: PM2 tells its apps apart by name ({@code pm2 logs api}), the command line tells masters
     * apart by their admin port.
     */
    private static final String NO_NAME = "The master runs one app, so it needs no name (PM2's --name, -n): the "
            + "command line tells masters apart by their admin ports (start --admin-port PORT, then "
            + "SHEPHERD_ADMIN_URL=127.0.0.1:PORT).";

    /**
     * What gunicorn's and PM2's options that start has not are here: the README compares start with both, and they
     * got a bare "Unknown option" (a new user's).
     */
    static final Map<String, String> HABITS = Map.of(
            "-w", "Did you mean -i? It is the number of workers here (gunicorn's -w, PM2's -i).",
            "--workers", "Did you mean -i? It is the number of workers here (gunicorn's -w, PM2's -i).",
            "-b", "The proxy's port is -p PORT; its address, every interface by default, is --set server.address=HOST "
                    + "(gunicorn's -b HOST:PORT).",
            "--bind", "The proxy's port is -p PORT; its address, every interface by default, is --set "
                    + "server.address=HOST (gunicorn's -b HOST:PORT).",
            "--name", NO_NAME,
            "-n", NO_NAME,
            "--watch", "Shepherd does not restart on file changes: shepherd reload does it without dropping a request "
                    + "(PM2's --watch).",
            "--no-daemon", "start runs in the foreground already; systemd or Docker keeps it running (PM2's "
                    + "--no-daemon).",
            "--interpreter", "Give the interpreter before the script: shepherd start python3 app.py (PM2's "
                    + "--interpreter).");

    /** What PM2 takes for an ecosystem file rather than a script: {@code *.config.js} and JSON or YAML files. */
    private static final Pattern ECOSYSTEM = Pattern.compile(
            "(?i)(.*/)?[^/]*(\\.config\\.[cm]?js|\\.json|\\.ya?ml)");

    /** The interpreter PM2 runs a script with, by its extension (PM2's own table, the common part). */
    private static final Map<String, String> INTERPRETERS = Map.of(".js", "node", ".mjs", "node", ".cjs", "node",
            ".py", "python3", ".rb", "ruby", ".php", "php", ".sh", "bash", ".pl", "perl");

    /**
     * A script that is no executable file as PROGRAM ({@code start app.js}, PM2's habit) runs with its interpreter, as
     * PM2 runs it, with a note on {@code err} (found by an attacking helper: the master ran, and every worker failed
     * with "No such file or directory"). An executable script runs as it is, by its {@code #!} line. A script that
     * is not there is a usage error, as PM2's "Script not found" (it ran, and every worker crash-looped on node's
     * "Cannot find module": found by a new user).
     */
    private void addInterpreter(CommandLine line, PrintWriter err, Map<String, String> env) {
        if (command.isEmpty()) {
            return;
        }
        String program = command.get(0);
        if (ECOSYSTEM.matcher(program).matches()) {
            // Run with node "as PM2 does", it exited at once and restarted for ever: PM2 reads such a file (a new
            // user's).
            throw new CommandLine.ParameterException(line, program + " looks like a PM2 ecosystem file, which PM2 "
                    + "reads and Shepherd does not: give its app's script and settings here (shepherd start -i "
                    + "INSTANCES -e NAME=VALUE ... SCRIPT), or as Shepherd's settings (see the README's Configuration)");
        }
        int dot = program.lastIndexOf('.');
        String interpreter = dot < 0 ? null : INTERPRETERS.get(program.substring(dot).toLowerCase(Locale.ROOT));
        if (interpreter == null) {
            return;
        }
        try {
            Path path = Path.of(workingDirectory == null ? "" : workingDirectory).resolve(program);
            if (Files.isRegularFile(path) && Files.isExecutable(path)) {
                return;
            }
            if (!Files.isRegularFile(path) && !program.contains("/") && onPath(program, env)) {
                // An executable on the PATH (docker-entrypoint.sh): run as it is, as before.
                return;
            }
            if (!Files.isRegularFile(path)) {
                throw new CommandLine.ParameterException(line, "script not found: " + path.toAbsolutePath()
                        + (workingDirectory == null ? " (PROGRAM is found from the current directory, or from --cwd)"
                        : "") + "; to run it anyway, give its interpreter first: " + interpreter + " " + program);
            }
        } catch (InvalidPathException noPath) {
            return;
        }
        command.add(0, interpreter);
        err.println("shepherd start: running " + TerminalText.safe(program) + " with " + interpreter + ", as PM2 does "
                + "(give the interpreter before it to pick another)");
        err.flush();
    }

    /**
     * A note on {@code err} when a state file ({@code --set fleet.state-file=...} or {@code FLEET_STATE_FILE}) holds a
     * saved fleet, which the master runs instead of the PROGRAM and {@code -i} typed: a new user's {@code start -i 1
     * python3 app.py} ran three node workers, with one INFO line to say why (PM2 restores only on {@code pm2
     * resurrect}). A note, not a refusal: coming back as it was is what the file is for.
     */
    private void warnOfSavedState(PrintWriter err, Map<String, String> env) {
        if (command.isEmpty() && instances == null) {
            return;
        }
        String file = settings.entrySet().stream().filter(setting -> uniform(setting.getKey()).equals("fleet.statefile"))
                .map(Map.Entry::getValue).findFirst().orElse(env.get("FLEET_STATE_FILE"));
        try {
            if (file == null || file.isBlank() || !Files.isRegularFile(Path.of(file))) {
                return;
            }
        } catch (InvalidPathException noPath) {
            return;
        }
        err.println("shepherd start: " + TerminalText.safe(file) + " (fleet.state-file) holds a saved fleet, which runs "
                + "instead of " + (command.isEmpty() ? "-i" : instances == null ? "PROGRAM" : "PROGRAM and -i")
                + " (its count, command, environment and directory): delete it to run what you typed");
        err.flush();
    }

    /**
     * Which of {@code option}'s names was typed ({@code -p}, {@code -p9000}, {@code --port=9000}): the first of its
     * names among the words before PROGRAM, where start's options are.
     */
    private static String typed(CommandLine line, String option) {
        CommandLine.Model.OptionSpec spec = line.getCommandSpec().findOption(option);
        for (String arg : line.getParseResult().originalArgs()) {
            for (String name : spec.names()) {
                if (arg.equals(name) || arg.startsWith(name + "=") || name.length() == 2 && arg.startsWith(name)) {
                    return name;
                }
            }
        }
        return option;
    }

    /** Whether {@code program} is an executable file in a directory of {@code env}'s PATH. */
    private static boolean onPath(String program, Map<String, String> env) {
        for (String directory : env.getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            try {
                Path candidate = Path.of(directory.isEmpty() ? "." : directory, program);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    return true;
                }
            } catch (InvalidPathException notAPath) {
                // Another directory may hold it.
            }
        }
        return false;
    }

    /**
     * {@code size} as Spring Boot's {@code DataSize} reads it: PM2's one-letter units ({@code 300M}, {@code 1G},
     * {@code 100K}, PM2's {@code max_memory_restart}) become {@code MB}, {@code GB}, {@code KB}; refused here, naming
     * the option, when it is no size at all (not after the master's start, naming the setting).
     */
    static String memorySize(CommandLine line, String size) {
        Matcher pm2 = PM2_SIZE.matcher(size.trim());
        String spring = pm2.matches() ? pm2.group(1) + pm2.group(2).toUpperCase(Locale.ROOT) + "B" : size.trim();
        try {
            DataSize.parse(spring);
            return spring;
        } catch (IllegalArgumentException ex) {
            throw new CommandLine.ParameterException(line, "--max-memory-restart " + TerminalText.safe(size)
                    + ": not a size; give it as 300M, 300MB or 1G");
        }
    }

    /**
     * A note on {@code err} when no PROGRAM was given: two new users typed a bare {@code start} to see its usage, as
     * {@code pm2 start} shows it, and got a master serving the demo worker on every interface.
     */
    private void tellNoProgram(PrintWriter err) {
        if (command.isEmpty()) {
            err.println("shepherd start: no PROGRAM given, so the workers run fleet.worker.command from the "
                    + "configuration, else the built-in demo worker (shepherd start --help shows how to give one; "
                    + "Ctrl-C stops the master)");
            err.flush();
        }
    }

    /**
     * The lines that refuse start's own options after PROGRAM ({@link OptionsAfterProgram}), given {@code typed}, the
     * words as typed; none when there are none, or when a {@code --} before PROGRAM or after it says that what follows
     * is the program's. Refused only in PM2's shape, a script ({@code start app.js -i max}, {@code start node app.js
     * -i max}): other programs have options of their own by those names (uwsgi's {@code -p 2}, gunicorn's pidfile,
     * docker's {@code --name} and {@code -i}; found by an attacking helper), and get a note.
     */
    private List<String> checkProgramArguments(List<String> typed, CommandLine.Model.CommandSpec spec) {
        int program = typed.size() - command.size();
        if (command.isEmpty() || program < 0 || !typed.get(program).equals(command.get(0))
                || program > 0 && typed.get(program - 1).equals("--")) {
            return List.of();
        }
        boolean interpreted = INTERPRETERS.containsValue(typed.get(program)) && program + 1 < typed.size()
                && isScript(typed.get(program + 1));
        boolean script = isScript(typed.get(program)) || interpreted;
        List<String> refusal = script ? OptionsAfterProgram.refusal(typed, program, interpreted, spec) : List.of();
        if (refusal.isEmpty()) {
            programNotes = OptionsAfterProgram.notes(typed, program, !script);
        }
        return refusal;
    }

    /** Whether {@code word} names a script by an extension PM2 picks an interpreter for ({@code app.js}). */
    private static boolean isScript(String word) {
        int dot = word.lastIndexOf('.');
        return dot > 0 && INTERPRETERS.containsKey(word.substring(dot).toLowerCase(Locale.ROOT));
    }

    /** Notes on options after PROGRAM that are the program's as typed ({@link OptionsAfterProgram#notes}). */
    private List<String> programNotes = List.of();

    /**
     * {@code word} as Spring Boot keeps it literally: it resolves {@code ${...}} in every setting's value (the master's
     * {@code ${PORT}}, even {@code ${fleet.admin.token}}; found by an attacking helper), and {@code \${} is its escape.
     */
    private static String literal(String word) {
        return word.replace("${", "\\${");
    }

    /** A setting's name as Spring Boot compares names: lower case, without dashes, a key in brackets as it is. */
    private static String uniform(String name) {
        StringBuilder uniform = new StringBuilder();
        boolean inKey = false;
        for (char c : name.toCharArray()) {
            inKey = c == '[' || inKey && c != ']';
            if (inKey || c == ']') {
                uniform.append(c);
            } else if (c != '-') {
                uniform.append(Character.toLowerCase(c));
            }
        }
        return uniform.toString();
    }

    /** {@code -i}: N, {@code max} or 0 (the CPUs), or -N (the CPUs less N, at least 1), as PM2 reads it. */
    private static int workers(CommandLine line, String instances, int processors) {
        if (instances.equalsIgnoreCase("max")) {
            return processors;
        }
        int n;
        try {
            n = Integer.parseInt(instances.strip());
        } catch (NumberFormatException ex) {
            throw new CommandLine.ParameterException(line, "-i '" + instances + "': give a number of workers, or max");
        }
        return n > 0 ? n : Math.max(1, processors + n);
    }
}
