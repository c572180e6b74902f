package dev.shepherd.ctl;

import dev.shepherd.EditDistance;
import dev.shepherd.TerminalText;
import dev.shepherd.UsageMessages;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Shepherd's command line, {@code java -jar shepherd.jar ctl …} (or {@code bin/shepherd …}): a client of the admin
 * API that starts no Spring context. Commands and words follow PM2's ({@code ls}, {@code logs}, {@code reload},
 * {@code scale}). Every error is one line on standard error that says what to do; exit codes: {@value #OK} done,
 * {@value #FAILED} the admin API refused (or the command failed otherwise), {@value #USAGE} bad arguments,
 * {@value #ROLLED_BACK} a reload that was waited for, or that failed at once, failed and was rolled back (one whose
 * rollback stopped part way, leaving workers of the failed spec, is {@value #FAILED}), {@value #DOWN} {@code status}
 * of a DOWN fleet,
 * {@value #UNREACHABLE} the admin API could not be reached or did not answer in time.
 */
@Command(name = "shepherd", versionProvider = Ctl.Version.class,
        description = "Drives a running Shepherd master through its admin API.",
        footer = {"", "shepherd start [-i N] [-p PORT] ... PROGRAM [ARG...] runs the master itself, in the foreground "
                + "(shepherd start --help)."},
        subcommands = {LsCommand.class, StatusCommand.class, ScaleCommand.class, ReloadCommand.class,
                ReplaceCommand.class, KillCommand.class, SignalCommand.class, LogsCommand.class, EventsCommand.class, TopCommand.class,
                AutoComplete.GenerateCompletion.class, CommandLine.HelpCommand.class})
public final class Ctl {

    public static final String COMMAND = "ctl";

    /** The names of the command line's commands and their aliases ({@code ls}, {@code list}, {@code signal}...). */
    public static java.util.Set<String> commandNames() {
        return new CommandLine(new Ctl()).getSubcommands().keySet();
    }
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int ROLLED_BACK = 3;
    /** {@code status} of a fleet whose health is DOWN, as {@code systemctl status} exits 3 for a unit not running. */
    static final int DOWN = 4;
    /**
     * No connection to the admin API, or no answer in time: the master may not be running, so that a script can tell
     * it from a refusal ({@value #FAILED}), which asking again will not change (found by a new user).
     */
    static final int UNREACHABLE = 5;
    private static final String HELP = "Show this help message and exit.";

    // picocli's standard help options, but --version on this command alone: a subcommand's usage line showed -V.
    // Each subcommand gets --help in run() (picocli's generate-completion has its own).
    @Option(names = {"-h", "--help"}, usageHelp = true, description = HELP)
    boolean help;

    /** {@code -v} as well, PM2's ({@code pm2 -v}); no command takes it otherwise. */
    @Option(names = {"-V", "-v", "--version"}, versionHelp = true, description = "Print version information and exit.")
    boolean version;

    @Option(names = "--admin", paramLabel = "URL", scope = ScopeType.INHERIT,
            description = "The admin API (default: $SHEPHERD_ADMIN_URL, else " + AdminTarget.DEFAULT_URL + ").")
    String admin;

    @Option(names = "--token", paramLabel = "TOKEN", scope = ScopeType.INHERIT,
            description = "The admin token, fleet.admin.token (default: $SHEPHERD_ADMIN_TOKEN, else the content of "
                    + "the file $SHEPHERD_ADMIN_TOKEN_FILE).")
    String token;

    private Map<String, String> env = Map.of();
    private PrintWriter out;
    private PrintWriter err;
    private AdminClient client;

    private Ctl() {
    }

    /** Runs the command line and exits the JVM with its exit code. */
    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        System.exit(run(args, out, err, System.getenv()));
    }

    /** Runs one command with the given output streams and environment; returns its exit code. Any thread. */
    static int run(String[] args, PrintWriter out, PrintWriter err, Map<String, String> env) {
        Ctl ctl = new Ctl();
        ctl.env = env;
        ctl.out = out;
        ctl.err = err;
        CommandLine line = new CommandLine(ctl);
        for (CommandLine command : line.getSubcommands().values()) {
            CommandLine.Model.CommandSpec spec = command.getCommandSpec();
            if (!spec.optionsMap().containsKey("--help")) {
                spec.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help")
                        .usageHelp(true).description(HELP).build());
            }
            // generate-completion's standard options printed picocli's own version for -V (found by a new user).
            if (spec.findOption("--version") != null) {
                spec.remove(spec.findOption("--version"));
            }
        }
        // scale -1 (PM2's relative count) is a count, not an unknown option.
        line.getSubcommands().get("scale").setUnmatchedOptionsArePositionalParams(true);
        // signal -USR2 3, kill(1)'s way: the signal, not an unknown option.
        line.getSubcommands().get("signal").setUnmatchedOptionsArePositionalParams(true);
        // kill -9 36, kill -KILL 36 (a new user's): the signal, as kill(1) takes it.
        line.getSubcommands().get("kill").setUnmatchedOptionsArePositionalParams(true);
        line.setOut(out).setErr(err);
        // picocli says "'2.5' is not an int", also of a number too large for one: said in words here.
        CommandLine.ITypeConverter<Integer> whole = Ctl::wholeNumber;
        line.registerConverter(Integer.class, whole).registerConverter(int.class, whole);
        line.setExecutionExceptionHandler((ex, failed, parsed) -> {
            err.println(TerminalText.safe(ex instanceof CtlException known ? known.getMessage()
                    : "failed: " + (ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage())));
            err.flush();
            return ex instanceof CtlException known ? known.exitCode() : FAILED;
        });
        line.setParameterExceptionHandler((ex, given) -> {
            CommandLine where = ex.getCommandLine();
            Matcher helpFor = UNKNOWN_HELP_TOPIC.matcher(String.valueOf(ex.getMessage()));
            if (ex instanceof CommandLine.UnmatchedArgumentException unmatched && where.getParent() == null
                    && !unmatched.getUnmatched().isEmpty() && !unmatched.getUnmatched().get(0).startsWith("-")) {
                notACommand(where, unmatched.getUnmatched().get(0), err);
            } else if (where.getParent() == null && helpFor.matches()) {
                // help nosuch (picocli's help command says it of the root): its "Unknown subcommand 'nosuch'." listed
                // none of the commands (found by a new user).
                notACommand(where, helpFor.group(1), err);
            } else if (where.getParent() == null
                    && String.valueOf(ex.getMessage()).startsWith("Missing required subcommand")) {
                // shepherd alone: the usage, as git and pm2 print it, not picocli's one line (a new user's).
                where.usage(err);
            } else if (ex.getArgSpec() instanceof CommandLine.Model.PositionalParamSpec positional
                    && "ID".equals(positional.paramLabel()) && ex.getValue() != null
                    && !ex.getValue().strip().matches("-?\\d+")) {
                // logs app, kill app: PM2 names apps; "Invalid value for positional parameter at index 0 (ID)" said
                // nothing of what an ID is (a new user's). As replace says it.
                err.println("ID must be a worker's id (the ID column of shepherd ls), not '"
                        + TerminalText.safe(ex.getValue()) + "' (see " + where.getCommandSpec().qualifiedName()
                        + " --help)");
            } else if (ex instanceof CommandLine.OverwrittenOptionException twice
                    && twice.getOverwritten() instanceof CommandLine.Model.OptionSpec option && option.negatable()) {
                // reload --wait --no-wait: picocli said "option '--wait' should be specified only once".
                err.println(TerminalText.safe(option.longestName()) + " and its --no- form are one option: give one "
                        + "of them, once (see " + where.getCommandSpec().qualifiedName() + " --help)");
            } else {
                // The message may quote what was typed: escaped, like every other line the command line prints.
                err.println(TerminalText.safe(UsageMessages.reword(ex.getMessage())) + " (see "
                        + where.getCommandSpec().qualifiedName() + " --help)");
                if (ex instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
                    // reload --wiat: said with no suggestion (found by a new user).
                    String typed = unmatched.getUnmatched().get(0);
                    List<String> near = nearOptions(where.getCommandSpec(), typed);
                    String pm2 = PM2_OPTIONS.get(typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed);
                    if (pm2 != null) {
                        // reload --update-env said "Unknown option" and no more (a new user's).
                        err.println(pm2);
                    } else if (!near.isEmpty()) {
                        err.println("Did you mean " + String.join(" or ", near) + "?");
                    }
                }
            }
            err.flush();
            return USAGE;
        });
        int code = line.execute(args);
        out.flush();
        return code;
    }

    /** picocli's message for {@code help WORD} when WORD is no command. */
    private static final Pattern UNKNOWN_HELP_TOPIC = Pattern.compile("Unknown subcommand '(.*)'\\.", Pattern.DOTALL);

    /**
     * {@code word} is no command of {@code root}: says so, with the commands (git's and picocli's "did you mean").
     * start is the launcher's (bin/shepherd runs the master for it), but a command all the same.
     */
    private static void notACommand(CommandLine root, String word, PrintWriter err) {
        err.println("'" + TerminalText.safe(word) + "' is not a command; the commands are start, "
                + String.join(", ", root.getSubcommands().values().stream().map(CommandLine::getCommandName)
                .distinct().toList()) + " (see " + root.getCommandSpec().qualifiedName() + " --help)");
        // Suggested by the names listed above: an alias near the word (list) stands for its command (ls).
        // Two edits for a word of six letters or more, one below: "bogus" was "Did you mean logs?" (a new user's).
        int edits = word.length() >= 6 ? 2 : 1;
        List<String> near = root.getSubcommands().entrySet().stream()
                .filter(named -> EditDistance.between(named.getKey(), word) <= edits)
                .map(named -> named.getValue().getCommandName()).distinct().toList();
        String pm2 = PM2_VERBS.get(word.toLowerCase(java.util.Locale.ROOT));
        if (pm2 != null) {
            // PM2's verb for what Shepherd does otherwise ("Did you mean top?" for stop; a new user's).
            err.println(pm2);
        } else if (!near.isEmpty()) {
            err.println("Did you mean " + String.join(" or ", near) + "?");
        }
    }

    /**
     * Which of {@code option}'s names the command line used ({@code --tail 0}, {@code --tail=0}, {@code -n0}), so that
     * an error about its value names what the user typed; its first name if none was (its default value).
     */
    static String typedName(CommandLine.Model.CommandSpec command, String option) {
        CommandLine.Model.OptionSpec spec = command.findOption(option);
        for (String arg : command.commandLine().getParseResult().originalArgs()) {
            for (String name : spec.names()) {
                if (arg.equals(name) || arg.startsWith(name + "=") || name.length() == 2 && arg.startsWith(name)) {
                    return name;
                }
            }
        }
        return spec.names()[0];
    }

    /**
     * The long options of {@code command} within two edits of {@code typed} ({@code --wiat}, {@code --jsn=x}), as git
     * suggests; none for a short option or a word of more than 40 characters.
     */
    static List<String> nearOptions(CommandLine.Model.CommandSpec command, String typed) {
        String name = typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed;
        if (!name.startsWith("--") || name.length() > 40) {
            return List.of();
        }
        // The --no- forms too, and the nearest only: reload --nowait suggested --wait, the opposite (found by a new
        // user).
        Map<String, Integer> near = new java.util.TreeMap<>();
        java.util.stream.Stream.concat(command.optionsMap().keySet().stream(), command.negatedOptionsMap().keySet().stream())
                .filter(option -> option.startsWith("--"))
                .forEach(option -> near.put(option, EditDistance.between(option, name)));
        int nearest = near.values().stream().min(Integer::compare).orElse(Integer.MAX_VALUE);
        return nearest > 2 ? List.of() : near.entrySet().stream().filter(option -> option.getValue() == nearest)
                .map(Map.Entry::getKey).limit(3).toList();
    }

    /** Hints that more than one of PM2's words get. */
    private static final class Pm2Hints {
        static final String JLIST = "Did you mean ls --json? It prints GET /fleet, what pm2 jlist gives.";
        static final String DESCRIBE = "ls shows every worker (ls --json all the API knows of them), logs ID one's "
                + "output, events the fleet's history.";
        static final String STOP = "Shepherd keeps the fleet at its size: scale it down (scale -1, scale N), or stop "
                + "the master itself (SIGTERM, systemctl stop) to stop every worker.";
        static final String UNDO = "Did you mean reload --undo? It goes back to the spec the last successful reload "
                + "replaced, or stops a running reload and rolls it back";

        private Pm2Hints() {
        }
    }

    /** What PM2's verbs that Shepherd has no command for, and words for what a command does, are here. */
    private static final java.util.Map<String, String> PM2_VERBS = java.util.Map.ofEntries(
            java.util.Map.entry("stop", Pm2Hints.STOP),
            java.util.Map.entry("delete", Pm2Hints.STOP),
            java.util.Map.entry("resurrect", "With fleet.state-file set, the master comes back with its saved fleet by "
                    + "itself when it starts."),
            java.util.Map.entry("save", "With fleet.state-file set, every scale and reload is saved by itself."),
            java.util.Map.entry("undo", Pm2Hints.UNDO + "."),
            java.util.Map.entry("rollback", Pm2Hints.UNDO + " (kubectl rollout undo)."),
            java.util.Map.entry("version", "Did you mean -v (--version)?"),
            // A new user's: jlist was "Did you mean ls?", startup "Did you mean status?".
            java.util.Map.entry("jlist", Pm2Hints.JLIST),
            java.util.Map.entry("prettylist", Pm2Hints.JLIST),
            java.util.Map.entry("describe", Pm2Hints.DESCRIBE),
            java.util.Map.entry("show", Pm2Hints.DESCRIBE),
            java.util.Map.entry("startup", "The master runs under systemd or Docker: systemd/shepherd.service is the "
                    + "unit pm2 startup would write (see the README's systemd section)."),
            java.util.Map.entry("flush", "Worker output is kept in memory (fleet.worker.log-lines a worker) and, with "
                    + "fleet.worker.log-directory, in files rotated by size (log-file-max-size, log-file-max-files): "
                    + "there is nothing to flush."),
            java.util.Map.entry("sendsignal", "Did you mean sendSignal (signal SIGNAL ID|all)? Commands are "
                    + "case-sensitive."),
            java.util.Map.entry("ping", "status says whether the master answers (exit code 5 when it does not)."));

    /** What PM2's options that no command here has are here (pm2 reload --update-env, pm2 logs --nostream). */
    private static final java.util.Map<String, String> PM2_OPTIONS = java.util.Map.of(
            "--update-env", "Shepherd takes no environment from this shell (PM2's --update-env): name what changes, "
                    + "reload --env NAME=VALUE or --unset-env NAME, and every worker is replaced with it.",
            "--nostream", "logs prints the last lines and ends by itself; -f (--follow) is what keeps printing.",
            "--time", "Did you mean --timestamps? (PM2's --time)");

    private static Integer wholeNumber(String value) {
        try {
            return Integer.valueOf(value.strip());
        } catch (NumberFormatException ex) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number"
                    + (value.strip().matches("-?\\d+") ? " below 2147483648" : ""));
        }
    }

    /** The client of the admin API that the options and environment name, made on first use. */
    AdminClient client() {
        if (client == null) {
            client = new AdminClient(AdminTarget.resolve(admin, token, env));
        }
        return client;
    }

    PrintWriter out() {
        return out;
    }

    /** Standard error, for what is said besides a command's result. */
    PrintWriter err() {
        return err;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Ctl.class.getPackage().getImplementationVersion();
            return new String[] {"shepherd " + (version == null ? "(development build)" : version)};
        }
    }
}
