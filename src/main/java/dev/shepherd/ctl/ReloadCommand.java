package dev.shepherd.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import tools.jackson.databind.JsonNode;

import java.util.concurrent.Callable;

/**
 * {@code shepherd reload [--wait]}: a zero-downtime rolling reload ({@code POST /fleet/reload}). With {@code --wait}
 * it prints the reload's events as they happen and exits {@value Ctl#OK} when the reload finished, or
 * {@value Ctl#ROLLED_BACK} with the reason when it failed and was rolled back.
 */
@Command(name = "reload", description = "Replaces every worker, one at a time, without dropping a request.")
class ReloadCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Option(names = "--wait", description = "Print the progress and exit when the reload is over: 0 when it finished, "
            + Ctl.ROLLED_BACK + " when it was rolled back.")
    boolean await;

    @Override
    public Integer call() {
        if (!await) {
            ctl.out().println(describe(ctl.client().post("/fleet/reload", null)));
            return Ctl.OK;
        }
        // Subscribe before the reload starts, so that none of its events can be missed.
        try (EventStream stream = EventStream.open(ctl.client())) {
            JsonNode started = ctl.client().post("/fleet/reload", null);
            ctl.out().println(describe(started));
            ctl.out().flush();
            String[] failure = {null};
            boolean over = !running(started) || stream.forEach(event -> {
                String type = event.path("type").asString("");
                if (type.startsWith("RELOAD_")) {
                    ctl.out().println(event.path("message").asString(type));
                    ctl.out().flush();
                }
                if (type.equals("RELOAD_FAILED")) {
                    failure[0] = event.path("message").asString(type);
                }
                return !type.equals("RELOAD_SUCCEEDED") && !type.equals("RELOAD_FAILED");
            });
            if (!over) {
                throw new CtlException("the event stream ended before the reload did: see shepherd status");
            }
            return finish(started, failure[0]);
        }
    }

    private static int finish(JsonNode started, String failure) {
        if (failure != null) {
            throw new CtlException(failure, Ctl.ROLLED_BACK);
        }
        if ("FAILED".equals(started.path("state").asString())) {
            throw new CtlException(describe(started), Ctl.ROLLED_BACK);
        }
        return Ctl.OK;
    }

    private static boolean running(JsonNode reload) {
        return "RUNNING".equals(reload.path("state").asString());
    }

    /** One line for a reload status of the API ({@code reload} of {@code GET /fleet}). */
    static String describe(JsonNode reload) {
        String state = reload.path("state").asString("IDLE");
        long generation = reload.path("generation").asLong();
        String progress = reload.path("replaced").asInt() + " of " + reload.path("total").asInt() + " workers replaced";
        return switch (state) {
            case "IDLE" -> "none since the master started (generation " + generation + ")";
            case "RUNNING" -> "reload to generation " + generation + " running: " + progress;
            case "SUCCEEDED" -> "reload to generation " + generation + " finished at "
                    + reload.path("finishedAt").asString("?") + ": " + progress;
            default -> "reload to generation " + generation + " failed and was rolled back: "
                    + reload.path("reason").asString("no reason given");
        };
    }
}
