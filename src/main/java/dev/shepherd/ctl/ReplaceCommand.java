package dev.shepherd.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import tools.jackson.databind.JsonNode;

import java.util.concurrent.Callable;

/**
 * {@code shepherd replace ID}: replaces one worker, surge-first ({@code POST /fleet/workers/{id}/replace}); {@code restart}
 * is an alias for PM2's habit (a crash restart keeps the id; this makes a new worker).
 */
@Command(name = "replace", aliases = "restart",
        description = "Replaces one worker: a new one starts, the old one drains once it is READY (alias: restart).")
class ReplaceCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Parameters(paramLabel = "ID", description = "The worker's id (the ID column of shepherd ls).")
    int id;

    @Override
    public Integer call() {
        JsonNode answer = ctl.client().post("/fleet/workers/" + id + "/replace", null);
        ctl.out().println("replacing worker " + id + ": its replacement is worker " + answer.path("replacement").asInt());
        return Ctl.OK;
    }
}
