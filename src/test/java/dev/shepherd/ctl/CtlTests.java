package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line's own answers, without a master: usage errors, help, an admin API nobody listens on. */
class CtlTests {

    record Result(int code, String out, String err) {
    }

    static Result run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Ctl.run(args, new PrintWriter(out, true), new PrintWriter(err, true), env);
        return new Result(code, out.toString(), err.toString());
    }

    /** A fake master's JSON answer, for the tests that stand one up with the JDK's HTTP server. */
    static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String json) throws IOException {
        byte[] body = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    @Test
    void missingArgumentIsOneLinePointingAtTheHelp() {
        Result result = run(Map.of(), "scale");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).isEqualTo("Missing required parameter: 'N' (see shepherd scale --help)\n");
    }

    /** picocli said "Unmatched argument at index 1: 'extra'", and index is a worker's stable index here. */
    @Test
    void anArgumentACommandDoesNotTakeIsNamedWithoutPicocliWords() {
        Result result = run(Map.of(), "ls", "extra");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).isEqualTo("unexpected argument 'extra' (see shepherd ls --help)\n");
    }

    @Test
    void unknownCommandIsOneLinePointingAtTheHelp() {
        Result result = run(Map.of(), "frobnicate");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).startsWith("'frobnicate' is not a command; the commands are start, ls, status, scale, ")
                .endsWith(" (see shepherd --help)\n").hasLineCount(1);
        Result misspelt = run(Map.of(), "stauts");
        assertThat(misspelt.code()).isEqualTo(Ctl.USAGE);
        assertThat(misspelt.err()).contains("'stauts' is not a command").endsWith("\nDid you mean status?\n");
        assertThat(run(Map.of(), "bogus").err()).as("two edits from logs, but a word of five letters")
                .doesNotContain("Did you mean");
        assertThat(run(Map.of(), "rload").err()).endsWith("\nDid you mean reload?\n");
        assertThat(run(Map.of(), "sacle").err()).as("a swap is one typo").endsWith("\nDid you mean scale?\n");
        assertThat(run(Map.of(), "undo").err()).contains("\nDid you mean reload --undo?");
        assertThat(run(Map.of(), "version").err()).endsWith("\nDid you mean -v (--version)?\n");
        Result nearAnAlias = run(Map.of(), "lst");
        assertThat(nearAnAlias.err()).as("an alias near the word (list) stands for its command, as listed, once")
                .endsWith("\nDid you mean ls?\n");
        assertThat(run(Map.of(), "tops").err()).endsWith("\nDid you mean top?\n");
    }

    /** help of a word that is no command lists the commands, as the word alone does (it said "Unknown subcommand"). */
    @Test
    void helpOfAnUnknownCommandListsTheCommands() {
        Result result = run(Map.of(), "help", "stauts");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).startsWith("'stauts' is not a command; the commands are start, ls, status, scale, ")
                .endsWith("\nDid you mean status?\n");
        assertThat(run(Map.of(), "help", "status").out()).startsWith("Usage: shepherd status");
    }

    /** A negatable option given both ways: picocli said "option '--wait' should be specified only once". */
    @Test
    void anOptionGivenWithItsNegationSaysTheyAreOne() {
        Result result = run(Map.of(), "reload", "--wait", "--no-wait");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).isEqualTo("--wait and its --no- form are one option: give one of them, once "
                + "(see shepherd reload --help)\n");
    }

    /** --version is the top command's: a subcommand's usage line showed [-hV]. */
    @Test
    void subcommandsTakeHelpButNotVersion() {
        Result top = run(Map.of(), "--help");
        Result scale = run(Map.of(), "scale", "--help");

        assertThat(top.out()).contains("[-hV]").contains("--version");
        assertThat(scale.code()).isZero();
        assertThat(scale.out()).contains("Usage: shepherd scale [-h]").contains("--help").doesNotContain("--version");
        assertThat(run(Map.of(), "--version").out()).startsWith("shepherd ");
        assertThat(run(Map.of(), "-v").out()).as("PM2's -v").startsWith("shepherd ");
        assertThat(run(Map.of(), "scale", "--version").code()).isEqualTo(Ctl.USAGE);
        assertThat(run(Map.of(), "generate-completion", "--version").out()).as("picocli's own version, before")
                .doesNotContain("generate-completion 4.");
    }

    /** reload --wiat said "Unknown option" and no more (found by a new user); a command is suggested already. */
    @Test
    void anUnknownOptionNearAnOptionOfTheCommandIsSuggested() {
        Result wait = run(Map.of(), "reload", "--wiat");
        Result json = run(Map.of(), "status", "--jsn=1");

        assertThat(wait.code()).isEqualTo(Ctl.USAGE);
        assertThat(wait.err()).isEqualTo("Unknown option: '--wiat' (see shepherd reload --help)\nDid you mean --wait?\n");
        assertThat(json.err()).endsWith("\nDid you mean --json?\n");
        assertThat(run(Map.of(), "logs", "--follw").err()).endsWith("\nDid you mean --follow?\n");
        assertThat(run(Map.of(), "reload", "--nowait").err()).as("the --no- form, not the opposite")
                .endsWith("\nDid you mean --no-wait?\n");
        assertThat(run(Map.of(), "ls", "--nothing-like-it").err()).doesNotContain("Did you mean");
        assertThat(run(Map.of(), "ls", "-x").err()).doesNotContain("Did you mean");
        assertThat(run(Map.of(), "logs", "--" + "x".repeat(100_000)).err()).as("a huge word is not compared")
                .doesNotContain("Did you mean");
    }

    /** pm2 scale app 3 and pm2 reload --update-env said "unexpected argument '3'" and "Unknown option" (a new user's). */
    @Test
    void pm2sAppNameAndOptionsSayWhatDoesItHere() {
        Result scale = run(Map.of(), "scale", "app", "3");
        Result updateEnv = run(Map.of(), "reload", "--update-env");

        assertThat(scale.code()).isEqualTo(Ctl.USAGE);
        assertThat(scale.err()).isEqualTo("scale takes the number alone: the master runs one app, so pm2 scale app 3 "
                + "is shepherd scale 3 (see shepherd scale --help)\n");
        assertThat(run(Map.of(), "scale", "app", "-1").err()).contains("so pm2 scale app -1 is shepherd scale -1");
        assertThat(run(Map.of(), "scale", "3", "4").err()).as("two numbers name no app")
                .isEqualTo("unexpected argument '4' (see shepherd scale --help)\n");
        assertThat(run(Map.of(), "scale", "app", "\u001b[2J").err()).as("escaped as it is typed")
                .isEqualTo("unexpected argument '^[[2J' (see shepherd scale --help)\n");
        assertThat(updateEnv.code()).isEqualTo(Ctl.USAGE);
        assertThat(updateEnv.err()).isEqualTo("Unknown option: '--update-env' (see shepherd reload --help)\n"
                + "Shepherd takes no environment from this shell (PM2's --update-env): name what changes, reload --env "
                + "NAME=VALUE or --unset-env NAME, and every worker is replaced with it.\n");
        assertThat(run(Map.of(), "replace", "1", "--update-env").err()).contains("reload --env NAME=VALUE");
        assertThat(run(Map.of(), "logs", "--nostream").err()).endsWith("-f (--follow) is what keeps printing.\n");
        assertThat(run(Map.of(), "logs", "--time").err()).endsWith("\nDid you mean --timestamps? (PM2's --time)\n");
        assertThat(run(Map.of(), "kill", "7", "-9").err()).as("kill(1)'s -9, taken: the master is asked")
                .startsWith("cannot reach the admin API");
        assertThat(run(Map.of(), "kill", "-9", "36").err()).as("a new user's kill -9 36").startsWith("cannot reach");
        assertThat(run(Map.of(), "kill", "--signal", "15", "36").err()).as("TERM by its number").startsWith("cannot reach");
        assertThat(run(Map.of(), "kill", "-HUP", "36").err()).contains("HUP is not meant to stop a worker: shepherd "
                + "signal HUP 36");
        assertThat(run(Map.of(), "kill", "36", "37").err()).startsWith("kill takes the id of one worker");
        // jlist was "Did you mean ls?", startup "Did you mean status?" (a new user's).
        assertThat(run(Map.of(), "jlist").err()).endsWith("\nDid you mean ls --json? It prints GET /fleet, what pm2 "
                + "jlist gives.\n");
        assertThat(run(Map.of(), "startup").err()).contains("systemd/shepherd.service").doesNotContain("status?");
        assertThat(run(Map.of(), "sendsignal", "SIGUSR2", "1").err()).endsWith("\nDid you mean sendSignal (signal "
                + "SIGNAL ID|all)? Commands are case-sensitive.\n");
        // kill said "Missing required parameter", scale max "must be a whole number", top -n 1 "Unknown options".
        Result kill = run(Map.of(), "kill");
        assertThat(kill.code()).isEqualTo(Ctl.USAGE);
        assertThat(kill.err()).startsWith("kill takes the id of one worker").contains("as pm2 kill does, stop the master");
        Result max = run(Map.of(), "scale", "max");
        assertThat(max.code()).isEqualTo(Ctl.USAGE);
        assertThat(max.err()).startsWith("scale takes a number: max is start -i's").contains("shepherd scale $(nproc)");
        assertThat(run(Map.of(), "top", "-n", "0").err()).startsWith("-n must be 1 to 86400 snapshots, not 0");
    }

    /** PM2's verbs without a command here: stop said "Did you mean top?" (a new user's). */
    @Test
    void pm2sVerbsThatAreNoCommandSayWhatDoesItHere() {
        Result stop = run(Map.of(), "stop", "1");

        assertThat(stop.code()).isEqualTo(Ctl.USAGE);
        assertThat(stop.err()).contains("'stop' is not a command").contains("scale it down (scale -1, scale N)")
                .doesNotContain("Did you mean");
        assertThat(run(Map.of(), "resurrect").err()).contains("fleet.state-file");
        // pm2 restart all, pm2 reload all: "'all' is not a whole number" and "Unmatched argument" before.
        assertThat(run(Map.of(), "restart", "all").err()).isEqualTo("every worker, one at a time without dropping a "
                + "request, is shepherd reload; replace takes one worker's id (see shepherd replace --help)\n");
        assertThat(run(Map.of(), "replace", "x1").err()).isEqualTo("ID must be a worker's id (the ID column of "
                + "shepherd ls), not 'x1' (see shepherd replace --help)\n");
        assertThat(run(Map.of(), "logs", "app").err()).isEqualTo("ID must be a worker's id (the ID column of "
                + "shepherd ls), not 'app' (see shepherd logs --help)\n");
        assertThat(run(Map.of(), "kill", "app").err()).isEqualTo("ID must be a worker's id (the ID column of "
                + "shepherd ls), not 'app' (see shepherd kill --help)\n");
        // restart alone, PM2's most typed command, said "Missing required parameter: 'ID'" (a new user's), as kill did.
        Result restart = run(Map.of(), "restart");
        assertThat(restart.code()).isEqualTo(Ctl.USAGE);
        assertThat(restart.err()).isEqualTo("restart takes the id of one worker (the ID column of shepherd ls): "
                + "shepherd restart ID. Every worker, one at a time without dropping a request (pm2 restart all, pm2 "
                + "reload all), is shepherd reload (see shepherd replace --help)\n");
        assertThat(run(Map.of(), "replace").err()).startsWith("replace takes the id of one worker (the ID column of "
                + "shepherd ls): shepherd replace ID. ");
        Result alone = run(Map.of());
        assertThat(alone.code()).isEqualTo(Ctl.USAGE);
        assertThat(alone.err()).as("the usage, as pm2 and git print it").startsWith("Usage: shepherd ")
                .contains("Drives a running Shepherd master");
        assertThat(run(Map.of(), "reload", "app").err()).isEqualTo("reload replaces every worker and takes no name but "
                + "all, not 'app'; replace ID replaces one worker (see shepherd reload --help)\n");
        assertThat(run(Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:1"), "reload", "all").err())
                .as("taken: the master is asked").startsWith("cannot reach the admin API");
    }

    /** {@code shepherd help scale}, as git and picocli spell it, was "Missing required parameter" (a new user's). */
    @Test
    void helpNamesACommandToShowItsUsage() {
        Result scale = run(Map.of(), "help", "scale");
        Result top = run(Map.of(), "help");

        assertThat(scale.code()).isZero();
        assertThat(scale.out()).startsWith("Usage: shepherd scale [-h]");
        assertThat(top.code()).isZero();
        assertThat(top.out()).startsWith("Usage: shepherd [-hV]");
        assertThat(run(Map.of(), "help", "nope").code()).isEqualTo(Ctl.USAGE);
    }

    /** Found by a new user: a path on --admin was told as a token the API wants. Nothing is asked of the master. */
    @Test
    void anAdminUrlWithAPathIsAUsageErrorNamingTheOptionAndTheUrlWithout() {
        Result ls = run(Map.of(), "ls", "--admin", "http://127.0.0.1:1/x");

        assertThat(ls.code()).isEqualTo(Ctl.USAGE);
        assertThat(ls.err()).isEqualTo("the admin URL 'http://127.0.0.1:1/x' has a path, /x, which the admin API does "
                + "not take (its paths are its own: /fleet, /actuator): give --admin http://127.0.0.1:1\n");
    }

    @Test
    void valuesTheMasterWouldRefuseAreUsageErrorsToldWithoutAskingIt() {
        Map<String, String> nobody = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:1");

        Result scale = run(nobody, "scale", "0");
        Result logs = run(nobody, "logs", "-n", "0", "1");
        Result kill = run(nobody, "kill", "--signal", "HUP", "1");

        assertThat(scale.code()).isEqualTo(Ctl.USAGE);
        assertThat(scale.err()).isEqualTo("N must be 1 or more, not 0 (see shepherd scale --help)\n");
        assertThat(run(nobody, "scale", "-1").err()).as("a relative count: the master is asked for the desired one")
                .startsWith("cannot reach the admin API");
        assertThat(logs.code()).isEqualTo(Ctl.USAGE);
        assertThat(logs.err()).isEqualTo("-n must be 1 or more, not 0 (see shepherd logs --help)\n");
        assertThat(run(nobody, "logs", "--tail", "5").err()).as("kubectl's word for -n, taken")
                .startsWith("cannot reach the admin API");
        assertThat(run(nobody, "logs", "--tail", "0").err()).as("the option named as typed")
                .isEqualTo("--tail must be 1 or more, not 0 (see shepherd logs --help)\n");
        assertThat(run(nobody, "logs", "--lines=-2").err()).startsWith("--lines must be 1 or more, not -2 ");
        // PM2's --err and --out, taken; both at once show nothing.
        assertThat(run(nobody, "logs", "--err", "3").err()).startsWith("cannot reach the admin API");
        assertThat(run(nobody, "logs", "--out", "-f").err()).startsWith("cannot reach the admin API");
        Result both = run(nobody, "logs", "--err", "--out");
        assertThat(both.code()).isEqualTo(Ctl.USAGE);
        assertThat(both.err()).isEqualTo("--err and --out show one stream each: give one of them, or neither for both "
                + "(see shepherd logs --help)\n");
        assertThat(run(nobody, "replace", "1", "--err").err()).as("no longer one of PM2's words said here")
                .startsWith("Unknown option: '--err'").doesNotContain("pipe");
        assertThat(run(nobody, "events", "-n-1").err()).startsWith("-n must be 0 or more, not -1 ");
        assertThat(kill.code()).isEqualTo(Ctl.USAGE);
        assertThat(kill.err()).isEqualTo("--signal must be TERM or KILL, with or without SIG, not 'HUP'; HUP is not "
                + "meant to stop a worker: shepherd signal HUP 1 (see shepherd kill --help)\n");
        assertThat(run(nobody, "kill", "--signal", "WINCH", "1").err())
                .isEqualTo("--signal must be TERM or KILL, with or without SIG, not 'WINCH' (see shepherd kill --help)\n");
        assertThat(run(nobody, "kill", "--signal", "sigkill", "1").err()).as("accepted, so the master is asked")
                .startsWith("cannot reach the admin API");
    }

    /** shepherd signal SIGNAL ID|all: what it refuses is told without asking the master, exit 2. */
    @Test
    void signalsUsageErrorsAreToldWithoutAskingTheMaster() {
        Map<String, String> nobody = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:1");
        String see = " (see shepherd signal --help)\n";
        String taken = "one of HUP, INT, QUIT, USR1, USR2 (any case, with or without SIG, or its number: 1, 2, 3, 10, 12)";

        Result alone = run(nobody, "signal");
        assertThat(alone.code()).isEqualTo(Ctl.USAGE);
        assertThat(alone.err()).isEqualTo("signal takes the signal, then the id of a worker (the ID column of shepherd "
                + "ls) or all: shepherd signal USR2 3, shepherd signal USR2 all" + see);
        assertThat(run(nobody, "signal", "USR2").err()).startsWith("signal takes the signal, then the id of a worker");
        Result unknown = run(nobody, "signal", "SIGFOO", "1");
        assertThat(unknown.code()).isEqualTo(Ctl.USAGE);
        assertThat(unknown.err()).isEqualTo("SIGNAL must be " + taken + ", not 'SIGFOO'" + see);
        assertThat(run(nobody, "signal", "term", "1").err()).isEqualTo("SIGNAL must be " + taken + ", not 'term'; TERM "
                + "stops a worker: that is kill (POST /fleet/workers/{id}/kill, shepherd kill ID --signal TERM)" + see);
        assertThat(run(nobody, "signal", "SIGSTOP", "1").err()).contains("not 'SIGSTOP'; STOP freezes a worker");
        assertThat(run(nobody, "signal", "-9", "1").err()).as("kill(1)'s -9 taken as the signal, and refused")
                .contains("not '-9'; KILL stops a worker: that is kill");
        assertThat(run(nobody, "signal", "TSTP", "all").code()).isEqualTo(Ctl.USAGE);
        assertThat(run(nobody, "signal", "0", "1").err()).startsWith("SIGNAL must be one of");
        Result app = run(nobody, "signal", "USR2", "app");
        assertThat(app.code()).isEqualTo(Ctl.USAGE);
        assertThat(app.err()).isEqualTo("ID must be a worker's id (the ID column of shepherd ls) or all, not 'app'" + see);
        assertThat(run(nobody, "signal", "all", "USR2").err()).as("all first, turned round")
                .isEqualTo("the signal comes first, then the worker (pm2 sendSignal's order): shepherd signal USR2 all" + see);
        assertThat(run(nobody, "signal", "3", "USR2").err()).as("docker kill's order, turned round")
                .isEqualTo("the signal comes first, then the worker (pm2 sendSignal's order): shepherd signal USR2 3" + see);
        assertThat(run(nobody, "signal", "USR2", "1", "2").err()).isEqualTo("unexpected argument '2'" + see);

        // Each of these is taken, so the master is asked.
        for (String[] taken2 : List.of(new String[] {"signal", "usr2", "1"}, new String[] {"signal", "SIGHUP", "all"},
                new String[] {"signal", "-USR2", "1"}, new String[] {"signal", "12", "ALL"},
                new String[] {"sendSignal", "SIGUSR2", "1"}, new String[] {"signal", "quit", "1"},
                new String[] {"signal", "INT", "1"}, new String[] {"signal", "10", "1"})) {
            Result asked = run(nobody, taken2);
            assertThat(asked.err()).as(String.join(" ", taken2)).startsWith("cannot reach the admin API");
            assertThat(asked.code()).isEqualTo(Ctl.UNREACHABLE);
        }
    }

    @Test
    void whatWasTypedIsEscapedInAUsageError() {
        Result result = run(Map.of(), "kill", "--signal", "\u001b]0;owned\u0007", "1");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).doesNotContain("\u001b").doesNotContain("\u0007");
    }

    /** Found by an attacking helper (2026-12-04): picocli's "'2.5' is not an int", and a usage error without its help. */
    @Test
    void aNumberThatIsNoWholeNumberOrOutOfRangeIsAUsageErrorInWords() {
        for (String notCount : new String[] {"2.5", "+x", "--3", "99999999999", "+", "three"}) {
            assertThat(run(Map.of(), "scale", notCount).err()).as(notCount).isEqualTo("N must be a whole number below "
                    + "1000000000, or +N or -N to add or remove that many workers, not '" + notCount
                    + "' (see shepherd scale --help)\n");
        }
        assertThat(run(Map.of(), "logs", "99999999999").err()).contains("'99999999999' is not a whole number below "
                + "2147483648");
        Result negative = run(Map.of(), "events", "-n", "-1");
        assertThat(negative.code()).isEqualTo(Ctl.USAGE);
        assertThat(negative.err()).isEqualTo("-n must be 0 or more, not -1 (see shepherd events --help)\n");
        // A user name or password in the admin URL: refused without being echoed (it was, in every error).
        Result userInfo = run(Map.of("SHEPHERD_ADMIN_URL", "https://u:PWLEAK@127.0.0.1:1"), "ls");
        assertThat(userInfo.code()).isEqualTo(Ctl.USAGE);
        assertThat(userInfo.err()).startsWith("the admin URL holds a user name or password")
                .doesNotContain("PWLEAK");
        // events takes -n's long form as logs does (it had none).
        assertThat(run(Map.of(), "events", "--lines", "-1").err())
                .isEqualTo("--lines must be 0 or more, not -1 (see shepherd events --help)\n");
    }

    @Test
    void helpListsEveryCommand() {
        Result result = run(Map.of(), "--help");

        assertThat(result.code()).isZero();
        assertThat(result.out()).contains("ls, list", "status", "scale", "reload", "replace", "kill", "logs", "events",
                "top", "generate-completion");
    }

    @Test
    void adminApiThatNobodyListensOnIsOneLineThatSaysWhatToSet() throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort(); // free once closed: nobody listens there
        }

        Result result = run(Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + port), "ls");

        // Told apart from a refusal (exit 1), which asking again will not change (found by a new user).
        assertThat(result.code()).isEqualTo(Ctl.UNREACHABLE);
        assertThat(result.err()).isEqualTo("cannot reach the admin API at http://127.0.0.1:" + port
                + ": is the master running? set --admin or SHEPHERD_ADMIN_URL\n");
        assertThat(result.out()).isEmpty();
    }

    @Test
    void adminOptionAfterTheCommandWinsOverTheEnvironment() {
        Result result = run(Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:1"), "status", "--admin", "not a url");

        assertThat(result.code()).isEqualTo(Ctl.USAGE);
        assertThat(result.err()).startsWith("the admin URL 'not a url' is not usable");
    }

    @Test
    void completionScriptCompletesTheCommands() {
        Result result = run(Map.of(), "generate-completion");

        assertThat(result.code()).isZero();
        assertThat(result.out()).contains("complete -F", "shepherd", "reload", "logs");
    }
}
