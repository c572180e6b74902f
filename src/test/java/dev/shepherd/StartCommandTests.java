package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code shepherd start}'s words, turned into the master's settings. */
class StartCommandTests {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private final int[] exitCode = {-1};

    private List<String> start(String... args) {
        return StartCommand.springArguments(args, new PrintWriter(out, true), new PrintWriter(err, true), () -> 8, exitCode);
    }

    @Test
    void eachWordOfTheProgramIsOneElementOfTheCommandAndItsOwnOptionsStayItsOwn() {
        assertThat(start("-i", "4", "-p", "9000", "--admin-port", "9001", "node", "--inspect", "-r", "dotenv/config",
                "app.js", "--tags=a,b", "{port}")).containsExactly("--fleet.workers=4", "--shepherd.start.option.fleet.workers=-i", "--server.port=9000",
                "--shepherd.start.option.server.port=-p", "--management.server.port=9001",
                "--shepherd.start.option.management.server.port=--admin-port", "--fleet.worker.command[0]=node", "--fleet.worker.command[1]=--inspect",
                "--fleet.worker.command[2]=-r", "--fleet.worker.command[3]=dotenv/config",
                "--fleet.worker.command[4]=app.js", "--fleet.worker.command[5]=--tags=a,b",
                "--fleet.worker.command[6]={port}");
        assertThat(start("--", "-weird-program")).containsExactly("--fleet.worker.command[0]=-weird-program");
        assertThat(err.toString()).as("a PROGRAM given").doesNotContain("no PROGRAM");
        err.getBuffer().setLength(0);
        assertThat(start()).as("the demo worker, every default").isEmpty();
        assertThat(err.toString()).as("without PROGRAM: said").startsWith("shepherd start: no PROGRAM given, so the "
                + "workers run fleet.worker.command from the configuration, else the built-in demo worker");
    }

    /** Found by an attacking helper: Spring Boot resolved ${...} in the words, the admin token among them. */
    @Test
    void springBootsPlaceholdersInTheWordsAreEscapedSoTheyStayAsTyped() {
        assertThat(start("-e", "A=${fleet.admin.token}", "--cwd", "/srv/${APP}", "sh", "-c", "exec app ${PORT} \\${x}"))
                .containsExactly("--fleet.worker.working-directory=/srv/\\${APP}",
                        "--shepherd.start.option.fleet.worker.working-directory=--cwd",
                        "--fleet.worker.environment[A]=\\${fleet.admin.token}", "--fleet.worker.command[0]=sh",
                        "--fleet.worker.command[1]=-c", "--fleet.worker.command[2]=exec app \\${PORT} \\\\${x}");
    }

    /** Found by an attacking helper: --set replaced PROGRAM, or lost to an option, without a word. */
    /** picocli said "Value for option option '--env' (NAME=VALUE) should be in KEY=VALUE format" (a new user's find). */
    @Test
    void anEnvironmentVariableWithoutAValueIsAUsageErrorInPlainWords() {
        assertThat(start("-e", "FOO", "node", "app.js")).isNull();
        assertThat(err.toString()).isEqualTo("--env wants NAME=VALUE, not 'FOO' (see shepherd start --help)\n");
    }

    /** A new user's: -p 99999, or one port for both, was refused only after the master's whole start, with exit 1. */
    @Test
    void aPortOutOfRangeOrTheSameForBothIsAUsageErrorAtOnce() {
        assertThat(start("-p", "99999", "node", "app.js")).isNull();
        assertThat(err.toString()).isEqualTo("-p must be a port, 0 to 65535 (0: any free one), not 99999 (see shepherd "
                + "start --help)\n");
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(start("--admin-port", "-1", "app")).isNull();
        assertThat(start("-p", "9000", "--admin-port", "9000", "app")).isNull();
        assertThat(err.toString()).endsWith("-p and --admin-port are both 9000: the proxy and the admin API need ports "
                + "of their own (see shepherd start --help)\n");
        assertThat(start("-p", "0", "--admin-port", "0", "app")).as("any free ones").contains("--server.port=0",
                "--management.server.port=0");
    }

    @Test
    void aSettingStartSetsItselfCannotBeSetAgain() {
        assertThat(start("--set", "fleet.worker.command=node,other.js", "node", "app.js")).isNull();
        assertThat(err.toString()).contains("--set fleet.worker.command=...: start sets fleet.worker.command itself");
        assertThat(start("--set", "fleet.worker.command[1]=x", "node", "app.js")).isNull();
        assertThat(start("-p", "9000", "--set", "server.PORT=9001", "app")).isNull();
        assertThat(start("--cwd", "/a", "--set", "fleet.worker.workingDirectory=/b", "app")).isNull();
        assertThat(start("-e", "A=1", "--set", "fleet.worker.environment[A]=2", "app")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);

        assertThat(start("-e", "A=1", "--set", "fleet.worker.environment[B]=2", "app")).contains(
                "--fleet.worker.environment[B]=2");
        assertThat(start("--set", "fleet.worker.command=node,app.js")).as("no PROGRAM: the setting gives it")
                .containsExactly("--fleet.worker.command=node,app.js");
    }

    /**
     * pm2's "start app.js -i max", its most common line, gave -i to the program and ran one worker per CPU: with a
     * note among the startup logs (found by an attacking helper), which a new user read past. Refused, with the
     * command corrected both ways.
     */
    @Test
    void startsOwnOptionAfterTheProgramIsRefusedWithTheCorrectedCommand() {
        assertThat(start("-p", "47570", "node", "app.js", "-i", "max", "--verbose")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("shepherd start: -i after PROGRAM would be node's argument; start takes "
                + "its options before PROGRAM (PM2 takes them anywhere):\n"
                + "  shepherd start -p 47570 -i max node app.js --verbose\n"
                + "or, to give it to node, with -- before PROGRAM:\n"
                + "  shepherd start -p 47570 -- node app.js -i max --verbose\n");
        assertThat(out.toString()).isEmpty();

        err.getBuffer().setLength(0);
        assertThat(start("server.js", "--max-memory-restart=300M", "--name", "api", "-p", "3000", "--", "-x"))
                .isNull();
        assertThat(err.toString()).as("each option with its value; PM2's --name left out, with its hint").isEqualTo(
                "shepherd start: --max-memory-restart, --name and -p after PROGRAM would be server.js's arguments; "
                + "start takes its options before PROGRAM (PM2 takes them anywhere):\n"
                + "  shepherd start --max-memory-restart=300M -p 3000 server.js -- -x\n"
                + "or, to give them to server.js, with -- before PROGRAM:\n"
                + "  shepherd start -- server.js --max-memory-restart=300M --name api -p 3000 -- -x\n"
                + "-p 3000 before PROGRAM is the proxy's port, and each worker gets its own in PORT: right for an app "
                + "that reads PORT; an app that takes its port only as an option wants --port {port} after PROGRAM:\n"
                + "  shepherd start --max-memory-restart=300M -p 3000 server.js --port '{port}' -- -x\n"
                + "The master runs one app, so it needs no name (PM2's --name, -n): the command line tells masters "
                + "apart by their admin ports (start --admin-port PORT, then SHEPHERD_ADMIN_URL=127.0.0.1:PORT).\n");
        err.getBuffer().setLength(0);
        assertThat(start("app.js", "--set", "fleet.x=a b", "{a,b}")).isNull();
        assertThat(err.toString()).as("quoted for the shell, braces too (bash expands {a,b})")
                .contains("\n  shepherd start --set 'fleet.x=a b' app.js '{a,b}'\n");
    }

    /**
     * After a --, start's options are the program's, and the -- with them, as typed (npm run start -- --port needs
     * its own); --port {port} is the program's anywhere (no worker can take one fixed port), and --watch gets a
     * note only (node --watch).
     */
    @Test
    void startsOptionsAfterADoubleDashOrWithThePortPlaceholderAreTheProgramsAsTyped() {
        assertThat(start("node", "app.js", "--", "-i", "1", "--", "-p")).containsExactly(
                "--fleet.worker.command[0]=node", "--fleet.worker.command[1]=app.js", "--fleet.worker.command[2]=--",
                "--fleet.worker.command[3]=-i", "--fleet.worker.command[4]=1", "--fleet.worker.command[5]=--",
                "--fleet.worker.command[6]=-p");
        assertThat(start("npm", "run", "start", "--", "--port", "{port}")).as("npm's own --").contains(
                "--fleet.worker.command[3]=--", "--fleet.worker.command[4]=--port");
        assertThat(start("node", "app.js", "--port", "{port}", "-p={port}")).as("a worker's own port")
                .contains("--fleet.worker.command[2]=--port", "--fleet.worker.command[4]=-p={port}");
        err.getBuffer().setLength(0);
        assertThat(start("node", "--watch", "app.js")).as("node's --watch").contains("--fleet.worker.command[1]=--watch");
        assertThat(err.toString()).contains("shepherd start: --watch comes after PROGRAM, so it is node's argument");
        assertThat(start("-i", "2", "--", "npm", "run", "start", "--", "-p", "{port}")).as("-- before PROGRAM: "
                + "every word after it is the program's, a -- too").containsExactly("--fleet.workers=2",
                "--shepherd.start.option.fleet.workers=-i",
                "--fleet.worker.command[0]=npm", "--fleet.worker.command[1]=run", "--fleet.worker.command[2]=start",
                "--fleet.worker.command[3]=--", "--fleet.worker.command[4]=-p", "--fleet.worker.command[5]={port}");
        assertThat(start("app.js", "--port=x")).as("--port=, start's too").isNull();
    }

    /** -i4, -p3000 and PM2's -n api, --interpreter X and -e ran as the script's arguments, unsaid. */
    @Test
    void attachedValuesAndPm2sNameInterpreterAndEnvAfterAScriptAreRefusedToo() {
        assertThat(start("node", "app.js", "-i4", "-p3000", "-n", "api", "-e", "NODE_ENV=production")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).startsWith("shepherd start: -i, -p, -n and -e after PROGRAM would be node's "
                + "arguments; start takes its options before PROGRAM (PM2 takes them anywhere):\n"
                + "  shepherd start -i4 -p3000 -e NODE_ENV=production node app.js\n"
                + "or, to give them to node, with -- before PROGRAM:\n"
                + "  shepherd start -- node app.js -i4 -p3000 -n api -e NODE_ENV=production\n")
                .contains("\nThe master runs one app, so it needs no name (PM2's --name, -n)");

        err.getBuffer().setLength(0);
        assertThat(start("app.js", "--interpreter=python3", "-x")).isNull();
        assertThat(err.toString()).as("the interpreter before the script").contains(
                "\n  shepherd start python3 app.js -x\n", "\nGive the interpreter before the script");
        err.getBuffer().setLength(0);
        assertThat(start("node", "app.js", "--interpreter", "bun")).isNull();
        assertThat(err.toString()).as("instead of the one typed").contains("\n  shepherd start bun app.js\n");
        err.getBuffer().setLength(0);
        assertThat(start("node", "app.js", "--interpreter", "none")).isNull();
        assertThat(err.toString()).as("PM2's none: the script itself").contains("\n  shepherd start app.js\n");

        err.getBuffer().setLength(0);
        assertThat(start("node", "app.js", "-e", "err.log", "--env", "production")).isNull();
        assertThat(err.toString()).as("PM2's -e FILE and --env NAME, left out").contains(
                "\n  shepherd start node app.js\n", "\nHere -e NAME=VALUE gives every worker a variable; for PM2's -e "
                + "FILE, its error log, set fleet.worker.log-directory (--set fleet.worker.log-directory=DIR): each "
                + "worker slot's stderr goes to DIR/worker-N-err.log", "\nHere --env NAME=VALUE gives every worker a variable; PM2's "
                + "--env NAME picks an environment of an ecosystem file");

        assertThat(start("node", "app.js", "-init", "-p{port}", "-eval")).as("the script's own words").contains(
                "--fleet.worker.command[2]=-init", "--fleet.worker.command[3]=-p{port}", "--fleet.worker.command[4]=-eval");
        err.getBuffer().setLength(0);
        assertThat(start("docker", "run", "-e", "A=1", "-i4", "img")).as("no script: docker's").contains(
                "--fleet.worker.command[2]=-e", "--fleet.worker.command[4]=-i4");
        assertThat(err.toString()).contains("shepherd start: -e comes after PROGRAM, so it is docker's argument",
                "shepherd start: -i comes after PROGRAM, so it is docker's argument");
    }

    /** A new user's -e PORT=3000 stopped the master some 10 s later, naming fleet.worker.environment.PORT. */
    @Test
    void aPortForTheWorkersIsAUsageErrorPointingToTheProxysPort() {
        assertThat(start("-e", "PORT=3000", "node", "app.js")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).contains("--env PORT=3000: each worker gets a PORT of its own from Shepherd, which "
                + "proxies to it; for clients to reach the app on 3000, give the proxy that port: -p 3000");
    }

    /** start -p 80 app.js -p 3000 was corrected to start -p 80 -p 3000 app.js, which picocli refuses (-p once). */
    @Test
    void anOptionGivenBothBeforeAndAfterTheProgramIsCorrectedToItsLastValueOnce() {
        assertThat(start("-p", "80", "-i", "2", "app.js", "-p", "3000")).isNull();
        assertThat(err.toString()).isEqualTo("shepherd start: -p after PROGRAM would be app.js's argument; start takes "
                + "its options before PROGRAM (PM2 takes them anywhere):\n"
                + "  shepherd start -i 2 -p 3000 app.js\n"
                + "or, to give it to app.js, with -- before PROGRAM:\n"
                + "  shepherd start -p 80 -i 2 -- app.js -p 3000\n"
                + "-p 80 was given again later, and start takes it once: the first command keeps the last value typed, "
                + "as PM2 does.\n"
                + "-p 3000 before PROGRAM is the proxy's port, and each worker gets its own in PORT: right for an app "
                + "that reads PORT; an app that takes its port only as an option wants --port {port} after PROGRAM:\n"
                + "  shepherd start -i 2 -p 3000 app.js --port '{port}'\n");

        err.getBuffer().setLength(0);
        assertThat(start("-e", "A=1", "-p3000", "node", "app.js", "-e", "B=2", "-p", "4000", "--port=4001")).isNull();
        assertThat(err.toString()).as("-e is a list, kept; -p3000 attached, and -p 4000 after, replaced").contains(
                "  shepherd start -e A=1 -e B=2 --port=4001 node app.js\n",
                "-p3000 -p 4000 were given again later, and start takes each once");
        String corrected = err.toString().lines().skip(1).findFirst().orElseThrow().strip();
        err.getBuffer().setLength(0);
        assertThat(start(corrected.substring("shepherd start ".length()).split(" "))).as("the correction parses: %s", err)
                .contains("--server.port=4001");
    }

    /**
     * start app.js -i was corrected to start -i app.js, which takes the script for -i's value: an option without its
     * value is left out of the correction, which parses, and told.
     */
    @Test
    void anOptionWithoutItsValueIsToldAndLeftOutOfACorrectionThatParses() {
        assertThat(start("node", "app.js", "-i")).isNull();
        assertThat(err.toString()).isEqualTo("shepherd start: -i after PROGRAM would be node's argument; start takes "
                + "its options before PROGRAM (PM2 takes them anywhere):\n"
                + "  shepherd start node app.js\n"
                + "or, to give it to node, with -- before PROGRAM:\n"
                + "  shepherd start -- node app.js -i\n"
                + "-i needs a value, and has none, so the first command leaves it out: give it before PROGRAM as -i N.\n");
        assertCorrectionParses();

        for (List<String> typed : List.of(List.of("node", "app.js", "-i", "-p", "3000"),
                List.of("node", "app.js", "--max-memory-restart", "--", "-x"), List.of("node", "app.js", "-e"))) {
            err.getBuffer().setLength(0);
            assertThat(start(typed.toArray(String[]::new))).as(typed.toString()).isNull();
            assertCorrectionParses();
        }
        err.getBuffer().setLength(0);
        start("node", "app.js", "-e");
        assertThat(err.toString()).contains("\n-e needs a value, and has none, so the first command leaves it out: "
                + "give it before PROGRAM as -e NAME=VALUE.\n");
        err.getBuffer().setLength(0);
        start("node", "app.js", "-i", "--cwd");
        assertThat(err.toString()).contains("\n-i and --cwd need a value each, and have none, so the first command "
                + "leaves them out: give them before PROGRAM as -i N and --cwd DIR.\n");
    }

    /** The refusal's first correction (its second line), run as start: it is taken. */
    private void assertCorrectionParses() {
        String correction = err.toString().lines().skip(1).findFirst().orElseThrow();
        assertThat(correction).startsWith("  shepherd start ");
        String[] words = correction.substring("  shepherd start ".length()).split(" ");
        err.getBuffer().setLength(0);
        assertThat(start(words)).as(correction + ": " + err).isNotNull();
    }

    /** Found by an attacking helper: "start server.js", PM2's habit, failed every worker with "No such file". */
    @Test
    void aScriptThatIsNoExecutableRunsWithItsInterpreterAsPm2RunsIt(@TempDir Path directory) throws Exception {
        Files.writeString(directory.resolve("server.js"), "");
        Files.writeString(directory.resolve("app.py"), "");
        assertThat(start("--cwd", directory.toString(), "server.js", "--flag")).containsExactly(
                "--fleet.worker.working-directory=" + directory,
                "--shepherd.start.option.fleet.worker.working-directory=--cwd", "--fleet.worker.command[0]=node",
                "--fleet.worker.command[1]=server.js", "--fleet.worker.command[2]=--flag");
        assertThat(err.toString()).isEqualTo("shepherd start: running server.js with node, as PM2 does (give the "
                + "interpreter before it to pick another)\n");
        assertThat(start("--cwd", directory.toString(), "app.py")).contains("--fleet.worker.command[0]=python3");

        Path script = Files.writeString(directory.resolve("run.sh"), "#!/bin/sh\nexec node app.js\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        assertThat(start("--cwd", directory.toString(), "run.sh")).as("executable: its #! line decides")
                .contains("--fleet.worker.command[0]=run.sh");
        assertThat(start("node", "server.js")).containsExactly("--fleet.worker.command[0]=node",
                "--fleet.worker.command[1]=server.js");
    }

    /** PM2's "Script not found": it ran, and every worker crash-looped on node's "Cannot find module" (a new user's). */
    @Test
    void aScriptThatIsNotThereIsAUsageErrorUnlessItsInterpreterIsGiven(@TempDir Path directory) {
        assertThat(start("--cwd", directory.toString(), "nope.js")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("script not found: " + directory.resolve("nope.js") + "; to run it "
                + "anyway, give its interpreter first: node nope.js (see shepherd start --help)\n");
        assertThat(start("node", "nope.js")).as("the interpreter given: not looked for").containsExactly(
                "--fleet.worker.command[0]=node", "--fleet.worker.command[1]=nope.js");
    }

    /** start ecosystem.config.js ran the file with node "as PM2 does", and restarted it for ever: PM2 reads it. */
    @Test
    void aPm2EcosystemFileIsAUsageError() {
        for (String file : List.of("ecosystem.config.js", "conf/pm2.config.cjs", "process.json", "apps.YML")) {
            err.getBuffer().setLength(0);
            assertThat(start(file)).as(file).isNull();
            assertThat(exitCode[0]).isEqualTo(2);
            assertThat(err.toString()).isEqualTo(file + " looks like a PM2 ecosystem file, which PM2 reads and "
                    + "Shepherd does not: give its app's script and settings here (shepherd start -i INSTANCES -e "
                    + "NAME=VALUE ... SCRIPT), or as Shepherd's settings (see the README's Configuration) (see shepherd "
                    + "start --help)\n");
        }
        assertThat(start("node", "config.js")).as("a script whose name only ends so").containsExactly(
                "--fleet.worker.command[0]=node", "--fleet.worker.command[1]=config.js");
    }

    /** gunicorn's and PM2's options got a bare "Unknown option" (a new user's). */
    @Test
    void gunicornsAndPm2sOptionsSayWhatDoesItHere() {
        assertThat(start("-w", "2", "node", "server.js")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("Unknown option: '-w' (see shepherd start --help)\nDid you mean -i? It is "
                + "the number of workers here (gunicorn's -w, PM2's -i).\n");
        err.getBuffer().setLength(0);
        assertThat(start("--bind=127.0.0.1:8000", "app.py")).isNull();
        assertThat(err.toString()).contains("--set server.address=HOST");
        err.getBuffer().setLength(0);
        assertThat(start("--no-daemon", "app.py")).isNull();
        assertThat(err.toString()).contains("start runs in the foreground already");
        err.getBuffer().setLength(0);
        assertThat(start("-n", "api", "app.py")).isNull();
        assertThat(err.toString()).contains("Unknown option: '-n'", "\nThe master runs one app, so it needs no name");
        // A second new user's: PM2's kill timeout, node arguments and log options had no hint.
        err.getBuffer().setLength(0);
        assertThat(start("--kill-timeout", "3000", "app.js")).isNull();
        assertThat(err.toString()).contains("--set fleet.worker.kill-timeout=3s");
        err.getBuffer().setLength(0);
        assertThat(start("--node-args=--max-old-space-size=300", "app.js")).isNull();
        assertThat(err.toString()).contains("shepherd start node --max-old-space-size=300 app.js");
        err.getBuffer().setLength(0);
        assertThat(start("-o", "out.log", "app.js")).isNull();
        assertThat(err.toString()).contains("--set fleet.worker.log-directory=DIR");
        err.getBuffer().setLength(0);
        assertThat(start("--time", "app.js")).isNull();
        assertThat(err.toString()).contains("(PM2's --time, --log-date-format)");
    }

    /** An executable script on the PATH runs as it is (a reviewing helper's: docker-entrypoint.sh in an image). */
    @Test
    void aScriptOnThePathRunsAsItIs(@TempDir Path directory) throws Exception {
        Path bin = Files.createDirectories(directory.resolve("bin"));
        Path script = Files.writeString(bin.resolve("docker-entrypoint.sh"), "#!/bin/sh\nexec \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));

        assertThat(StartCommand.springArguments(new String[] {"--cwd", directory.toString(), "docker-entrypoint.sh",
                "node", "app.js"}, new PrintWriter(out, true), new PrintWriter(err, true), () -> 8, exitCode,
                Map.of("PATH", "/nowhere:" + bin))).contains("--fleet.worker.command[0]=docker-entrypoint.sh");
        assertThat(err.toString()).isEmpty();
    }

    /** A new user's "start -i 1 python3 app.py" ran the three node workers a state file held, with an INFO line only. */
    @Test
    void aStateFileThatHoldsAFleetIsToldToRunInsteadOfWhatWasTyped(@TempDir Path directory) throws Exception {
        Path state = Files.writeString(directory.resolve("state.json"), "{}");
        String[] typed = {"-i", "1", "--set", "fleet.state-file=" + state, "python3", "app.py"};

        assertThat(StartCommand.springArguments(typed, new PrintWriter(out, true), new PrintWriter(err, true), () -> 8,
                exitCode, Map.of())).contains("--fleet.state-file=" + state);
        assertThat(err.toString()).isEqualTo("shepherd start: " + state + " (fleet.state-file) holds a saved fleet, "
                + "which runs instead of PROGRAM and -i (its count, command, environment and directory): delete it to "
                + "run what you typed\n");

        err.getBuffer().setLength(0);
        StartCommand.springArguments(new String[] {"python3", "app.py"}, new PrintWriter(out, true),
                new PrintWriter(err, true), () -> 8, exitCode, Map.of("FLEET_STATE_FILE", state.toString()));
        assertThat(err.toString()).contains("which runs instead of PROGRAM (");

        err.getBuffer().setLength(0);
        StartCommand.springArguments(new String[] {"python3", "app.py"}, new PrintWriter(out, true),
                new PrintWriter(err, true), () -> 8, exitCode, Map.of("FLEET_STATE_FILE", directory.resolve("none").toString()));
        assertThat(err.toString()).as("no file yet: what was typed runs").isEmpty();
    }

    /**
     * The options that set a port are told to the master, whose messages about the port name them (a new user's
     * port in use named server.port, not the -p typed); and the admin API's URL is the master's to tell once it
     * listens ({@link AdminUrlNote}): said here, it came before the usage errors below (a new user's).
     */
    @Test
    void thePortOptionsTypedAreToldToTheMasterAndNothingOfTheAdminPortBeforeAUsageError() {
        assertThat(start("--port=9000", "--admin-port", "19703", "app")).contains("--server.port=9000",
                "--shepherd.start.option.server.port=--port", "--management.server.port=19703",
                "--shepherd.start.option.management.server.port=--admin-port");
        assertThat(start("-p9000", "app")).contains("--shepherd.start.option.server.port=-p");
        assertThat(start("-i", "2", "app", "--", "-p", "3000")).as("the program's -p")
                .noneMatch(arg -> arg.startsWith("--shepherd.start.option.server.port"));
        assertThat(err.toString()).doesNotContain("admin API");

        assertThat(start("--admin-port", "19703", "-i", "abc", "app")).isNull();
        assertThat(start("--admin-port", "19703", "--max-memory-restart", "300X", "app")).isNull();
        assertThat(err.toString()).doesNotContain("admin API").contains("-i 'abc'", "300X");
    }

    /**
     * A new user's "-i abc" and "--max-memory-restart 300X" were told after "running server.py with python3, as PM2
     * does", as if the start went on: the notes come once every argument is checked.
     */
    @Test
    void notesAreToldOnlyOnceEveryArgumentIsChecked(@TempDir Path directory) throws Exception {
        Files.writeString(directory.resolve("server.py"), "");
        Path state = Files.writeString(directory.resolve("state.json"), "{}");
        String script = directory.resolve("server.py").toString();

        assertThat(start("-i", "abc", script)).isNull();
        assertThat(start("--max-memory-restart", "300X", "--set", "fleet.state-file=" + state, script)).isNull();
        assertThat(start("-i", "abc")).isNull();
        assertThat(err.toString()).doesNotContain("shepherd start:").contains("-i 'abc'", "300X");

        err.getBuffer().setLength(0);
        assertThat(start("-i", "1", "--set", "fleet.state-file=" + state, script)).isNotNull();
        assertThat(err.toString()).as("told once the arguments are good").startsWith("shepherd start: running "
                + script + " with python3").contains("holds a saved fleet");
    }

    @Test
    void instancesAreReadAsPm2ReadsThem() {
        assertThat(start("-i", "max", "app")).startsWith("--fleet.workers=8");
        assertThat(start("-i", "0", "app")).startsWith("--fleet.workers=8");
        assertThat(start("-i", "-1", "app")).startsWith("--fleet.workers=7");
        assertThat(start("-i", "-20", "app")).startsWith("--fleet.workers=1");
        assertThat(start("--instances", "3", "app")).startsWith("--fleet.workers=3");
    }

    @Test
    void theWorkersOptionsBecomeTheirSettings() {
        assertThat(start("--cwd", "/srv/app", "-e", "NODE_ENV=production", "--env", "LIST=a,b=c",
                "--max-memory-restart", "300MB", "--set", "fleet.proxy.balancer=least-request", "node", "app.js"))
                .containsExactly("--fleet.worker.working-directory=/srv/app",
                        "--shepherd.start.option.fleet.worker.working-directory=--cwd", "--fleet.worker.max-memory=300MB",
                        "--shepherd.start.option.fleet.worker.max-memory=--max-memory-restart",
                        "--fleet.worker.environment[NODE_ENV]=production", "--fleet.worker.environment[LIST]=a,b=c",
                        "--fleet.worker.command[0]=node", "--fleet.worker.command[1]=app.js",
                        "--fleet.proxy.balancer=least-request");
    }

    @Test
    void badWordsAreUsageErrorsThatSayWhatToGive() {
        assertThat(start("-i", "many", "app")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).startsWith("-i 'many': give a number of workers, or max (see shepherd start --help)");

        assertThat(start("--set", "workers=3", "app")).isNull();
        assertThat(err.toString()).contains("--set workers=...: 'workers' is not a setting's name");
        assertThat(start("-e", "NODE ENV=x", "app")).isNull();
        assertThat(err.toString()).contains("'NODE ENV' is not a variable name");
        assertThat(start("-e", "NODE_ENV", "app")).isNull();
        assertThat(start("--port", "http", "app")).isNull();
        assertThat(start("--no-such-option", "app")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(out.toString()).isEmpty();
    }

    /** A new user's: PM2's own size form, 300M, was refused only once the master had started, naming the setting. */
    @Test
    void pm2sMemorySizesAreTakenAndOthersRefusedNamingTheOption() {
        assertThat(start("--max-memory-restart", "300M", "app")).contains("--fleet.worker.max-memory=300MB");
        assertThat(start("--max-memory-restart", "1g", "app")).contains("--fleet.worker.max-memory=1GB");
        assertThat(start("--max-memory-restart", "512MB", "app")).contains("--fleet.worker.max-memory=512MB");
        assertThat(start("--max-memory-restart", "lots", "app")).isNull();
        assertThat(exitCode[0]).isEqualTo(2);
        assertThat(err.toString()).contains("--max-memory-restart lots: not a size; give it as 300M, 300MB or 1G");
    }

    /** A new user's: pm2 start app.js -i 4 -p 3000 gave -p to the program, and the master bound 8080 unsaid. */
    @Test
    void thePortAfterTheProgramIsRefusedToo() {
        assertThat(start("node", "app.js", "-p", "3000")).isNull();
        assertThat(err.toString()).startsWith("shepherd start: -p after PROGRAM would be node's argument")
                .contains("\n  shepherd start -p 3000 node app.js\n");
    }

    /**
     * -p 3000 moved before PROGRAM is right for an app that reads PORT, wrong for one that takes its port only as an
     * option: the refusal says that one wants --port {port}, after the script and before the script's own words.
     */
    @Test
    void thePortsCorrectionTellsWhatAnAppThatTakesItsPortAsAnOptionWants() {
        assertThat(start("node", "app.js", "--verbose", "--port=3000", "--", "-x")).isNull();
        assertThat(err.toString()).endsWith("\n--port=3000 before PROGRAM is the proxy's port, and each worker gets "
                + "its own in PORT: right for an app that reads PORT; an app that takes its port only as an option "
                + "wants --port {port} after PROGRAM:\n"
                + "  shepherd start --port=3000 node app.js --port '{port}' --verbose -- -x\n");
        err.getBuffer().setLength(0);
        assertThat(start("app.js", "-p", "3000", "-i", "2", "--interpreter", "python3")).isNull();
        assertThat(err.toString()).contains("\n  shepherd start -p 3000 -i 2 python3 app.js --port '{port}'\n");
        err.getBuffer().setLength(0);
        assertThat(start("node", "app.js", "-i", "2")).isNull();
        assertThat(err.toString()).as("no port typed").doesNotContain("{port}");
    }

    /**
     * Found by an attacking helper: uwsgi's -p 2 (its processes), gunicorn's -p (a pidfile), docker's --name and -i
     * were refused with corrections that broke them. Only PM2's shape, a script, is refused; other programs get a note.
     */
    @Test
    void programsThatAreNoScriptKeepTheirOwnOptionsWithANote() {
        assertThat(start("uwsgi", "--http", ":{port}", "-p", "2")).contains("--fleet.worker.command[3]=-p",
                "--fleet.worker.command[4]=2");
        assertThat(err.toString()).contains("shepherd start: -p comes after PROGRAM, so it is uwsgi's argument");
        assertThat(start("docker", "run", "-i", "--name", "web-{index}", "img")).contains("--fleet.worker.command[2]=-i",
                "--fleet.worker.command[3]=--name");
        assertThat(start("node", "-p", "1")).as("node's -p, no script after node").contains("--fleet.worker.command[1]=-p");
        assertThat(start("python3", "app.py", "-i", "2")).as("an interpreter and a script: PM2's shape").isNull();
    }

    @Test
    void helpIsPrintedAndExitsZero() {
        assertThat(start("--help")).isNull();
        assertThat(exitCode[0]).isZero();
        assertThat(out.toString()).startsWith("Usage: shepherd start").contains("-i, --instances=N", "pm2-runtime");
    }
}
