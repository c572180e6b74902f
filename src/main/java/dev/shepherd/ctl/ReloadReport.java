package dev.shepherd.ctl;

import dev.shepherd.Plural;
import dev.shepherd.TerminalText;
import tools.jackson.databind.JsonNode;

import java.util.List;

/**
 * What the command line says of a reload, from its status in the admin API ({@code reload} of {@code GET /fleet},
 * {@code GET /fleet/reload}, the answer to a {@code POST /fleet/reload}): the one line of {@link #describe}, the
 * started line with what changed, and the failure of a reload, with the new worker's last output lines.
 */
final class ReloadReport {

    private final Ctl ctl;

    ReloadReport(Ctl ctl) {
        this.ctl = ctl;
    }

    /**
     * The {@code RELOAD_STARTED} event's message of the reload {@code status} says, from the recent events ("reload to
     * generation 3 started: 2 workers to replace; changed: command ..."): what changed, which the status has not
     * ({@code --no-wait} printed the status alone; a new user's). Nothing when there is none, when the recent events
     * cannot be read, or when an undo stopped a running reload ({@code status} is that reload's: its start is old news).
     */
    void printStarted(String path, JsonNode status) {
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
     * The failure of a reload waited for: one line, {@code GET /fleet/reload}'s status, whose reason has the new
     * worker's exit and last lines (those are printed on standard output first, one a line), or the event's message
     * when the master has no such resource; exit code {@value Ctl#ROLLED_BACK}, or {@value Ctl#FAILED} when the
     * rollback stopped part way. {@code stopped}: the line for a rollback whose last event said it stopped, used
     * when the status cannot be read after it (the master stopping); null when no such event was read.
     */
    CtlException rollback(String fallback, String stopped) {
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
        printLastLines(status.path("problem"));
        // A rollback that stopped left workers of the failed spec serving: not "rolled back" to a script.
        return new CtlException(describe(status), "STOPPED".equals(status.path("rollback").asString(""))
                ? Ctl.FAILED : Ctl.ROLLED_BACK);
    }

    /** The new worker's last output lines of a failed reload's {@code problem}, its error line, where the rest is. */
    private void printLastLines(JsonNode problem) {
        JsonNode lastLines = problem.path("lastLines");
        if (!lastLines.isArray() || lastLines.isEmpty()) {
            return;
        }
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
