package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class ReloadProblemTests {

    /** What Node 20 writes when the program's module does not exist: the error comes before its last five lines. */
    private static final List<String> NODE_MISSING_MODULE = List.of(
            "node:internal/modules/cjs/loader:1228",
            "  throw err;",
            "  ^",
            "",
            "Error: Cannot find module '/srv/app/app-v3.js'",
            "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
            "    at Module._load (node:internal/modules/cjs/loader:1051:27)",
            "    at node:internal/main/run_main_module:28:49 {",
            "  code: 'MODULE_NOT_FOUND',",
            "  requireStack: []",
            "}",
            "",
            "Node.js v20.20.2");

    @Test
    void theFirstLineThatStartsAnErrorReportIsFound() {
        assertThat(ReloadProblem.errorLine(NODE_MISSING_MODULE))
                .isEqualTo("Error: Cannot find module '/srv/app/app-v3.js'");
        assertThat(ReloadProblem.errorLine(List.of("Starting", "Exception in thread \"main\" java.lang.IllegalStateException: no db",
                "\tat app.Main.main(Main.java:3)"))).startsWith("Exception in thread \"main\"");
        assertThat(ReloadProblem.errorLine(List.of("listening", "java.lang.IllegalStateException: no db",
                "\tat app.Main.main(Main.java:3)", "Caused by: java.net.ConnectException: refused",
                "\t... 3 more"))).as("the cause").isEqualTo("Caused by: java.net.ConnectException: refused");
        assertThat(ReloadProblem.errorLine(List.of("Error: ECONNREFUSED 127.0.0.1:5432, retrying in 1s",
                "Error: ECONNREFUSED 127.0.0.1:5432, retrying in 1s", "node:internal/modules/cjs/loader:1228",
                "Error: Cannot find module './missing-config.json'", "    at Module._resolveFilename (x)",
                "Node.js v20.20.2"))).as("the error that ended it, not one retried before")
                .isEqualTo("Error: Cannot find module './missing-config.json'");
        assertThat(ReloadProblem.errorLine(List.of("Traceback (most recent call last):", "  File \"app.py\", line 1",
                "ModuleNotFoundError: No module named 'flask'"))).isEqualTo("ModuleNotFoundError: No module named 'flask'");
        assertThat(ReloadProblem.errorLine(List.of("goroutine 1 [running]:", "panic: runtime error: index out of range")))
                .startsWith("panic: ");
        assertThat(ReloadProblem.errorLine(List.of("ERROR: relation \"users\" does not exist"))).startsWith("ERROR:");
        assertThat(ReloadProblem.errorLine(List.of("fatal: not a git repository"))).startsWith("fatal:");
        assertThat(ReloadProblem.errorLine(List.of("Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'pg'")))
                .startsWith("Error [ERR_MODULE_NOT_FOUND]");
        // Ruby's uncaught exception: its class ends the line, after the stack's first frame.
        assertThat(ReloadProblem.errorLine(List.of("app.rb:1:in 'Kernel#require': cannot load such file -- sinatra "
                + "(LoadError)", "\tfrom app.rb:1:in '<main>'"))).endsWith("-- sinatra (LoadError)");
        assertThat(ReloadProblem.errorLine(List.of("config.rb:4:in `read': No such file or directory @ rb_sysopen - "
                + "db.yml (Errno::ENOENT)", "\tfrom config.rb:4:in `<main>'"))).endsWith("(Errno::ENOENT)");
        assertThat(ReloadProblem.errorLine(List.of("/srv/app.rb:9:in 'block in <main>': boom (ActiveRecord::ConnectionNotEstablished)")))
                .as("a class name that does not say Error").isNull();
        assertThat(ReloadProblem.errorLine(List.of("python3: can't open file '/srv/ap.py': [Errno 2] No such file or "
                + "directory"))).startsWith("python3: can't open file");
    }

    /**
     * A worker's lines are read on the supervisor's thread: a line of the longest kept (1 MB) made of the pieces the
     * patterns look for costs time in its length, not its length squared (some 10^11 steps a line, hours: the bound
     * is wide for a loaded host, where 20 rounds once took more than 20 s with C1 alone).
     */
    @Test
    void aHostileLineOfTheLongestKeptIsLookedAtInLinearTime() {
        List<String> hostile = List.of(":in (".repeat(200_000), "(A".repeat(500_000), "[Errno ".repeat(140_000),
                "/" + "a:1".repeat(300_000), "Error".repeat(200_000) + " x");
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int round = 0; round < 3; round++) {
                ReloadProblem.errorLine(hostile);
            }
        });
    }

    /** Node's SyntaxError names no file: the line above its code frame does, and the error line says it. */
    @Test
    void nodesLocationAboveTheCodeFrameIsAddedToItsError() {
        assertThat(ReloadProblem.errorLine(List.of("/srv/app/syntax.js:3", "function broken( {", "                 ^",
                "", "SyntaxError: Unexpected token '{'", "    at internalCompileFunction (node:internal/vm:76:18)",
                "", "Node.js v20.20.2")))
                .isEqualTo("SyntaxError: Unexpected token '{' (/srv/app/syntax.js:3)");
        assertThat(ReloadProblem.errorLine(List.of("node:internal/modules/cjs/loader:1228", "  throw err;", "  ^", "",
                "Error: Cannot find module '/srv/app/app-v3.js'")))
                .as("Node's own place is left out").isEqualTo("Error: Cannot find module '/srv/app/app-v3.js'");
    }

    @Test
    void linesThatOnlyMentionErrorsAreNotErrorLines() {
        assertThat(ReloadProblem.errorLine(List.of("ErrorHandler installed", "errors: 0", "error_count=5",
                "    at Error (native)", "listening on 3000", "Errors were logged to app.log", "Error tracking: on",
                "FATAL flag unset"))).isNull();
        assertThat(ReloadProblem.errorLine(List.of())).isNull();
    }

    @Test
    void anErrorLineTooLongIsCutAsTheLastLinesAre() {
        assertThat(ReloadProblem.errorLine(List.of("TypeError: " + "x".repeat(500))))
                .hasSize(ReloadProblem.LINE_CHARS);
    }
}
