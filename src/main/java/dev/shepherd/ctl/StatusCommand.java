package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.util.concurrent.Callable;

/**
 * {@code shepherd status}: the fleet's health ({@code GET /actuator/health}), desired and ready counts and the
 * latest reload ({@code GET /fleet}); {@code --json} prints both as {@code {"health": …, "fleet": …}}. Exits
 * {@value Ctl#DOWN} when the health is DOWN, so that a script or a check can tell without parsing. Without the
 * admin token the health's status alone, which the master answers to anyone.
 */
@Command(name = "status", description = "Shows the fleet's health, desired and ready workers, and the latest reload "
        + "(without the admin token, the health alone). Exit code " + Ctl.DOWN + " when the health is DOWN.")
class StatusCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Option(names = "--json", description = "Print {\"health\": GET /actuator/health, \"fleet\": GET /fleet}.")
    boolean json;

    @Override
    public Integer call() {
        JsonNode fleet;
        try {
            fleet = ctl.client().get("/fleet");
        } catch (AdminClient.TokenWanted wanted) {
            return healthAlone(wanted);
        }
        JsonNode health = ctl.client().health();
        if (json) {
            printJson(health, fleet);
            return exitCode(health);
        }
        ctl.out().println("health   " + TerminalText.safe(health.path("status").asString("?")) + lastCrash(health));
        ctl.out().println("workers  " + fleet.path("ready").asInt() + " ready of " + fleet.path("desired").asInt()
                + " desired, " + fleet.path("actual").asInt() + " running");
        ctl.out().println("reload   " + ReloadReport.describe(fleet.path("reload")));
        notReady(fleet).forEach(ctl.out()::println);
        return exitCode(health);
    }

    /**
     * A line for each STARTING worker whose readiness probe failed, with what it saw: a new user's status said
     * {@code health DOWN} for the minute of a startup timeout while only the master's log said the probe got 404.
     * At most {@link #NOT_READY_SHOWN}, then how many more.
     */
    static java.util.List<String> notReady(JsonNode fleet) {
        java.util.List<String> lines = new java.util.ArrayList<>();
        int more = 0;
        for (JsonNode worker : fleet.path("workers")) {
            String reason = worker.path("reason").asString(null);
            if (!"STARTING".equals(worker.path("state").asString(null)) || reason == null) {
                continue;
            }
            if (lines.size() == NOT_READY_SHOWN) {
                more++;
                continue;
            }
            lines.add("starting worker " + worker.path("id").asInt() + ": " + TerminalText.safe(reason));
        }
        if (more > 0) {
            lines.add("starting " + more + " more worker" + (more == 1 ? "" : "s") + " not READY yet (shepherd ls --json)");
        }
        return lines;
    }

    private static final int NOT_READY_SHOWN = 3;

    /**
     * Without the token the master still answers its health, which probes read: its status alone, a note on
     * standard error that the rest needs the token, and the exit code of that health. A new user's {@code status}
     * failed there although {@code curl …/actuator/health} beside it said UP. {@code wanted} is thrown when the
     * health wants the token too (a gateway's rule in front of the master).
     */
    private int healthAlone(AdminClient.TokenWanted wanted) {
        JsonNode health;
        try {
            health = ctl.client().health();
        } catch (AdminClient.TokenWanted healthToo) {
            throw wanted;
        }
        if (json) {
            printJson(health, null);
        } else {
            ctl.out().println("health   " + TerminalText.safe(health.path("status").asString("?")));
        }
        ctl.err().println("the workers, the last crash and the latest reload need the admin token: "
                + AdminClient.HOW_TO_GIVE_THE_TOKEN);
        ctl.err().flush();
        return exitCode(health);
    }

    /** {@code {"health": …, "fleet": …}}; {@code fleet} null (JSON's null) when it could not be read without the token. */
    private void printJson(JsonNode health, JsonNode fleet) {
        ObjectNode both = Json.MAPPER.createObjectNode();
        both.set("health", health);
        if (fleet == null) {
            both.putNull("fleet");
        } else {
            both.set("fleet", fleet);
        }
        ctl.out().println(Json.MAPPER.writeValueAsString(both));
    }

    private static int exitCode(JsonNode health) {
        return "DOWN".equals(health.path("status").asString("")) ? Ctl.DOWN : Ctl.OK;
    }

    /**
     * The health's {@code lastCrash} (the latest exit that was no planned stop) as the master logs an exit:
     * {@code (last crash: worker 3, pid 4242 exited with code 143 (signal TERM) at 2026-12-04T16:00:01Z: killed by …)}, or
     * {@code (last crash: cannot start: …)} when no process ran, then its error line, when it has one, on a line of
     * its own ({@code          error: Error: Cannot find module 'x'}); empty without one. A worker killed for not
     * getting READY in time is {@code last startup timeout}, not a crash (its {@code cause}), one killed for its
     * liveness probe {@code last liveness failure}, one stopped past twice its memory limit {@code last memory limit},
     * one ended by the signal an operator sent it ({@code shepherd signal}) {@code last exit by a signal sent}.
     */
    static String lastCrash(JsonNode health) {
        JsonNode crash = health.path("components").path("fleet").path("details").path("lastCrash");
        if (!crash.isObject()) {
            return "";
        }
        String label = " (last " + switch (crash.path("cause").asString("crash")) {
            case "startup-timeout" -> "startup timeout";
            case "liveness" -> "liveness failure";
            case "memory" -> "memory limit";
            case "signal" -> "exit by a signal sent";
            default -> "crash";
        } + ": ";
        String reason = TerminalText.safe(crash.path("reason").asString("?"));
        long pid = crash.path("pid").asLong(0);
        // The id shepherd logs takes (a new user had only the pid).
        String worker = crash.path("worker").isIntegralNumber() ? "worker " + crash.path("worker").asInt() + ", " : "";
        if (pid <= 0) {
            return label + worker + reason + ")";
        }
        String signal = crash.path("signal").asString(null);
        String errorLine = crash.path("errorLine").asString(null);
        return label + worker + "pid " + pid + " exited with code " + crash.path("code").asInt()
                + (signal == null ? "" : " (signal " + TerminalText.safe(signal) + ")")
                + " at " + TerminalText.safe(crash.path("at").asString("?").replaceFirst("(\\.\\d{3})\\d+Z$", "$1Z"))
                + ": " + reason + ")"
                + (errorLine == null ? "" : System.lineSeparator() + "         error: " + TerminalText.safe(errorLine));
    }
}
