package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import tools.jackson.databind.JsonNode;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The wait of {@code shepherd reload} (without {@code --no-wait}): starts the reload or undo with the event stream
 * open, prints its events until it is over, a failed reload's rollback included, and tells how it ended by the exit
 * code. One reload's, on the command's thread.
 */
final class ReloadWait {

    /**
     * The message of the {@code RELOAD_FAILED} event of a reload that the master's shutdown ended (the master's
     * {@code Supervisor} cancels it so), with no rollback.
     */
    private static final Pattern STOPPED_BY_SHUTDOWN = Pattern.compile("reload to generation \\d+ failed: the master is "
            + "shutting down");

    /** The message of a rollback's last event ({@code RELOAD_STEP}), which ends a wait for a failed reload. */
    private static final Pattern ROLLBACK_OVER = Pattern.compile("rollback of generation \\d+ (finished|stopped)");

    private final Ctl ctl;
    private final ReloadReport report;
    /** {@code /fleet/reload} or {@code /fleet/reload/undo}. */
    private final String path;
    /** The answer to the POST that started it. */
    private JsonNode started;
    /** The {@code RELOAD_FAILED} event's message, once read. */
    private String failure;
    /** What the rollback's last event said, if it was read and said it stopped: the status may not be readable after it. */
    private String rollbackStopped;

    ReloadWait(Ctl ctl, ReloadReport report, String path) {
        this.ctl = ctl;
        this.report = report;
        this.path = path;
    }

    /** Starts the reload with {@code body} (null: none) and prints its events until it is over; the exit code. */
    int run(String body) {
        // Subscribe before the reload starts, so that none of its events can be missed.
        try (EventStream stream = EventStream.open(ctl.client())) {
            started = ctl.client().post(path, body);
            printStart();
            // A failed reload's rollback is waited for too: its steps are printed, and the wait ends once
            // GET /fleet/reload no longer shows it rolling back.
            boolean over = !running(started) && !rollingBack(started) || stream.forEach(this::readOn);
            return outcome(over);
        }
    }

    /**
     * A running reload's first event says it started; a failure is told once, on standard error, when the wait ends.
     * Printed as well, "running: 0 of 2" came before "started" (found by a new user).
     */
    private void printStart() {
        if (!running(started) && !failed(started)) {
            ctl.out().println(ReloadReport.describe(started));
            ctl.out().flush();
        } else if (!running(started) && !rollingBack(started)) {
            // Failed at once (its first worker could not be spawned): the stream is not read, so its started
            // event is told from the recent ones, as for every other failed reload (a new user's).
            report.printStarted(path, started);
        }
    }

    /** Prints {@code event} if it is the reload's; whether to read on. */
    private boolean readOn(JsonNode event) {
        String type = event.path("type").asString("");
        if (type.startsWith("RELOAD_") && !type.equals("RELOAD_FAILED")) {
            ctl.out().println(TerminalText.safe(event.path("message").asString(type)));
            ctl.out().flush();
        }
        if (type.equals("RELOAD_FAILED")) {
            failure = event.path("message").asString(type);
        }
        if (failure != null || failed(started)) {
            if (!type.equals("RELOAD_FAILED") && !type.equals("RELOAD_STEP")) {
                return true;
            }
            Matcher last = ROLLBACK_OVER.matcher(event.path("message").asString(""));
            if (last.lookingAt()) {
                if (last.group(1).equals("stopped")) {
                    rollbackStopped = TerminalText.safe(event.path("message").asString(""));
                }
                return false;
            }
            // The status says the rollback is over before its last event is read: read on to that event.
            return !"NONE".equals(ctl.client().get("/fleet/reload").path("rollback").asString("NONE"));
        }
        return !type.equals("RELOAD_SUCCEEDED");
    }

    /** The exit code once the events are read ({@code over}: to the end of the reload, not of the stream). */
    private int outcome(boolean over) {
        if (failure != null && STOPPED_BY_SHUTDOWN.matcher(failure).matches()) {
            // Not "rolled back" (exit 3: the old spec serves): the master goes away, its workers with it.
            throw new CtlException("reload to generation " + started.path("generation").asLong() + " stopped: "
                    + "the master is shutting down (nothing was rolled back; its workers stop with it)",
                    Ctl.UNREACHABLE);
        }
        // A rollback's end is its last event; a stream that ends first (the master stopping) ends the wait
        // only when the status says the rollback is over.
        if (!over && !(failure != null && !rollingBack(ctl.client().get("/fleet/reload")))) {
            throw new CtlException("the event stream ended before the reload did (the master stopped or "
                    + "restarted?): see shepherd status", Ctl.UNREACHABLE);
        }
        if (failure == null && !failed(started)) {
            return Ctl.OK;
        }
        if (path.endsWith("/undo") && failed(started)) {
            return undone();
        }
        throw report.rollback(failure != null ? failure : ReloadReport.describe(started), rollbackStopped == null ? null
                : "reload to generation " + started.path("generation").asLong() + " failed; " + rollbackStopped);
    }

    /**
     * The undo stopped a running reload ({@link #started}, FAILED as undone), whose rollback is over: done, unless the
     * rollback stopped part way ({@link #rollbackStopped}: its last event's line, or null).
     */
    private int undone() {
        JsonNode status;
        try {
            status = ctl.client().get("/fleet/reload");
        } catch (CtlException ex) {
            status = started;
        }
        long generation = started.path("generation").asLong();
        if (rollbackStopped != null || "STOPPED".equals(status.path("rollback").asString(""))) {
            throw new CtlException("reload to generation " + generation + " stopped by the undo, but "
                    + (rollbackStopped != null ? rollbackStopped : "its rollback stopped part way: see shepherd status"),
                    Ctl.FAILED);
        }
        ctl.out().println("reload to generation " + generation + " stopped by the undo" + (status.path("replaced").asInt()
                > 0 ? " and rolled back" : "") + ": the fleet runs the spec it ran before it");
        return Ctl.OK;
    }

    /** Whether {@code reload} (a status of the API) is a failed reload still being rolled back. */
    private static boolean rollingBack(JsonNode reload) {
        return "RUNNING".equals(reload.path("rollback").asString(""));
    }

    private static boolean running(JsonNode reload) {
        return "RUNNING".equals(reload.path("state").asString());
    }

    private static boolean failed(JsonNode reload) {
        return "FAILED".equals(reload.path("state").asString());
    }
}
