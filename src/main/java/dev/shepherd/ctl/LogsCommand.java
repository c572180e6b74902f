package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code shepherd logs [ID] [-n N] [-f] [--timestamps]}: a worker's last output lines ({@code GET /fleet/workers/{id}/logs}), or every
 * current worker's, merged by time and prefixed with the worker id. {@code -f} asks again every
 * {@value #FOLLOW_MILLIS} ms for the last {@value #FOLLOW_LINES} lines and prints the new ones: a worker that writes
 * more than that between two asks has lines skipped (the master keeps them: {@code logs ID -n 1000} shows them).
 */
@Command(name = "logs", description = "Shows the workers' last output lines; -f follows them.")
class LogsCommand implements Callable<Integer> {

    static final int FOLLOW_MILLIS = 500;
    static final int FOLLOW_LINES = 100;

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "ID", arity = "0..1", description = "One worker's id (default: every current worker).")
    Integer id;

    @Option(names = {"-n", "--lines", "--tail"}, paramLabel = "N", defaultValue = "20", description = "How many lines per worker (default: ${DEFAULT-VALUE}); --lines is PM2's word, --tail kubectl's.")
    int lines;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new lines until interrupted, or, for one worker, "
            + "until it leaves the fleet.")
    boolean follow;

    @Option(names = "--json", description = "Print the API's JSON: the lines of one worker, or an object of them by worker id.")
    boolean json;

    /**
     * kubectl's {@code logs --timestamps} (PM2's {@code --timestamp}), with the process: a worker id keeps its lines
     * across restarts, which nothing told apart (found by a new user).
     */
    @Option(names = {"--timestamps", "--timestamp"}, description = "Begin each line with when the master read it "
            + "(ISO-8601, UTC) and the pid of the process that wrote it: a restarted worker keeps its id, not its pid.")
    boolean timestamps;

    private final Map<Integer, List<JsonNode>> seen = new HashMap<>();

    @Override
    public Integer call() throws InterruptedException {
        if (lines < 1) {
            // A usage error, told before asking the master (which would refuse it too).
            throw new CommandLine.ParameterException(spec.commandLine(), Ctl.typedName(spec, "-n") + " must be 1 or more, not " + lines);
        }
        if (json && !follow) {
            printJson();
            return Ctl.OK;
        }
        printNew(lines);
        while (follow) {
            TimeUnit.MILLISECONDS.sleep(FOLLOW_MILLIS);
            // Asked before its last lines: a line written between the two asks is printed before the end.
            boolean left = id != null && !workers().contains(id);
            printNew(Math.max(lines, FOLLOW_LINES));
            if (left) {
                // As kubectl logs -f ends when its pod goes; it followed on, silent, for ever (a new user's).
                ctl.err().println("worker " + id + " has left the fleet (shepherd events says why): its last lines "
                        + "are above");
                ctl.err().flush();
                return Ctl.OK;
            }
        }
        return Ctl.OK;
    }

    private void printJson() {
        if (id != null) {
            ctl.out().println(ctl.client().getText(path(id, lines)));
            return;
        }
        ObjectNode all = Json.MAPPER.createObjectNode();
        workers().forEach(worker -> all.set(Integer.toString(worker), ctl.client().get(path(worker, lines))));
        ctl.out().println(Json.MAPPER.writeValueAsString(all));
    }

    private void printNew(int asked) {
        List<Map.Entry<Integer, JsonNode>> fresh = new ArrayList<>();
        for (int worker : id != null ? List.of(id) : workers()) {
            List<JsonNode> tail = List.copyOf(ctl.client().get(path(worker, asked)).values());
            LogTail.newLines(seen.getOrDefault(worker, List.of()), tail).forEach(line -> fresh.add(Map.entry(worker, line)));
            seen.put(worker, tail);
        }
        fresh.sort(Comparator.comparing(entry -> entry.getValue().path("at").asString("")));
        for (Map.Entry<Integer, JsonNode> entry : fresh) {
            String text = TerminalText.safe(entry.getValue().path("line").asString(""));
            if (timestamps) {
                text = TerminalText.safe(entry.getValue().path("at").asString("?")) + " pid "
                        + entry.getValue().path("pid").asLong() + " " + text;
            }
            ctl.out().println(json ? Json.MAPPER.writeValueAsString(entry.getValue()) : id != null ? text : entry.getKey() + " | " + text);
        }
        ctl.out().flush();
    }

    private List<Integer> workers() {
        List<Integer> ids = new ArrayList<>();
        ctl.client().get("/fleet").path("workers").values().forEach(worker -> ids.add(worker.path("id").asInt()));
        return ids;
    }

    private static String path(int worker, int lines) {
        return "/fleet/workers/" + worker + "/logs?lines=" + lines;
    }
}
