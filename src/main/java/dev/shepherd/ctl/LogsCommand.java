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
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code shepherd logs [ID] [-n N] [-f] [--err|--out] [--timestamps]}: a worker's last output lines ({@code GET /fleet/workers/{id}/logs}), or every
 * current worker's, merged by time and prefixed with the worker id. {@code -f} asks every {@value #FOLLOW_MILLIS} ms
 * for the lines after the last it printed, by their {@code seq} ({@link FleetLogFollower}), at once again while an ask
 * gets a full page of {@value #FOLLOW_LINES}: it prints every line, or, where the master dropped some before they
 * were asked for (it keeps {@code fleet.worker.log-lines}), a line that says how many and where they may still be.
 * A worker that appears while it follows every worker (a restart, a reload, a scale-up), even one that came and went
 * between two asks, is shown from its first line. It compared tails of 100 lines instead, and skipped what did not
 * fit in them without a word; then it showed a new worker from its last {@code -n} lines, and never one that came and
 * went (found by a new user).
 */
@Command(name = "logs", description = "Shows the workers' last output lines; -f follows them.")
class LogsCommand implements Callable<Integer> {

    static final int FOLLOW_MILLIS = 500;
    /** The most lines one ask of {@code -f} gets. */
    static final int FOLLOW_LINES = 1000;

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

    @Option(names = "--err", description = "Only the lines the workers wrote to their standard error (PM2's --err).")
    boolean err;

    @Option(names = "--out", description = "Only the lines the workers wrote to their standard output (PM2's --out).")
    boolean out;

    @Override
    public Integer call() throws InterruptedException {
        if (lines < 1) {
            // A usage error, told before asking the master (which would refuse it too).
            throw new CommandLine.ParameterException(spec.commandLine(), Ctl.typedName(spec, "-n") + " must be 1 or more, not " + lines);
        }
        if (err && out) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--err and --out show one stream each: give "
                    + "one of them, or neither for both");
        }
        if (json && !follow) {
            printJson();
            return Ctl.OK;
        }
        FleetLogFollower follower = new FleetLogFollower(ctl.client()::get, id, lines, Math.max(lines, FOLLOW_LINES),
                stream());
        boolean full = print(follower.next());
        while (follow) {
            if (!full) {
                TimeUnit.MILLISECONDS.sleep(FOLLOW_MILLIS);
            }
            // Asked before its last lines: a line written between the two asks is printed before the end.
            boolean left = id != null && !workers().contains(id);
            full = print(follower.next());
            if (left && !full) {
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

    /**
     * Prints what a round of the follow got: a line for each worker that came and went unread, then the lines, merged
     * by time; returns whether an ask got a full page (more may be waiting).
     */
    private boolean print(FleetLogFollower.Round round) {
        // With --json, on stderr: standard output holds the API's elements only.
        round.forgotten().forEach(worker -> (json ? ctl.err() : ctl.out()).println(worker + " | " + forgotten(worker)));
        ctl.err().flush();
        round.printed().forEach(this::print);
        ctl.out().flush();
        return round.full();
    }

    private void print(LogMerge.Printed printed) {
        JsonNode element = printed.element();
        if (json) {
            ctl.out().println(Json.MAPPER.writeValueAsString(element));
            return;
        }
        String text;
        if (LogFollower.isMarker(element)) {
            List<String> files = new ArrayList<>();
            element.path("files").values().forEach(file -> files.add(file.asString("")));
            text = missed(element.path("missed").asLong(), element.path("stream").asString(null), stream() != null,
                    files);
        } else {
            text = TerminalText.safe(element.path("line").asString(""));
            if (timestamps) {
                text = TerminalText.safe(element.path("at").asString("?")) + " pid " + element.path("pid").asLong()
                        + " " + text;
            }
        }
        ctl.out().println(id != null ? text : printed.worker() + " | " + text);
    }

    /**
     * The marker of lines dropped before they were read, as journald and kubectl mark what they leave out: of the
     * marker's {@code stream} when it has one (a follow of one stream by its numbers), else of both, which a follow of
     * one stream ({@code ofOneStream}: a master older than streamSeq) says; and where they may still be: the
     * {@code files} the marker names (with {@code fleet.worker.log-directory}), else the setting that writes them.
     */
    static String missed(long count, String stream, boolean ofOneStream, List<String> files) {
        return "-- " + (count == 1 ? "1 line" : count + " lines") + (stream != null ? " of " + stream
                : ofOneStream ? " of stdout and stderr" : "")
                + " missed: dropped by the master before " + (count == 1 ? "it was" : "they were")
                + " read (it keeps fleet.worker.log-lines" + whereElse(files, count == 1 ? "it" : "they") + " --";
    }

    /**
     * The note of a worker that came and went between two rounds of the follow, whose lines the master no longer
     * keeps: it keeps those of the last {@code fleet.worker.retired-logs} ids that left.
     */
    static String forgotten(int worker) {
        return "-- every line of worker " + worker + " missed: it came and went between two asks, and the master no "
                + "longer keeps its lines (fleet.worker.retired-logs" + whereElse(List.of(), "they") + " --";
    }

    /** The end of a note of lines missed, after its setting: the files they may still be in. */
    private static String whereElse(List<String> files, String pronoun) {
        if (files.isEmpty()) {
            return "; fleet.worker.log-directory, when set, writes every line to files)";
        }
        return "); " + pronoun + " may still be in " + String.join(" and ", files.stream().map(TerminalText::safe)
                .toList()) + " (or in " + (files.size() == 1 ? "its" : "their") + " rotated .1, .2, ...)";
    }

    /** The stream asked for, as the API names it; null: both. */
    private String stream() {
        return err ? "stderr" : out ? "stdout" : null;
    }

    private List<Integer> workers() {
        return FleetLogFollower.workers(ctl.client()::get);
    }

    private String path(int worker, int lines) {
        return LogFollower.path(worker) + "?lines=" + lines + (stream() != null ? "&stream=" + stream() : "");
    }
}
