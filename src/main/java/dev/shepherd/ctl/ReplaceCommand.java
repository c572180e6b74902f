package dev.shepherd.ctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
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

    @Spec
    CommandSpec spec;

    /** Optional to picocli, so that its absence gets words of its own rather than "Missing required parameter". */
    @Parameters(paramLabel = "ID", arity = "0..1", description = "The worker's id (the ID column of shepherd ls).")
    String worker;

    @Override
    public Integer call() {
        if (worker == null) {
            // restart alone, PM2's most typed command, got picocli's bare "Missing required parameter: 'ID'" (a new
            // user's): pm2 restart names an app or all, and every worker is reload here.
            throw new CommandLine.ParameterException(spec.commandLine(), typed() + " takes the id of one worker (the "
                    + "ID column of shepherd ls): shepherd " + typed() + " ID. Every worker, one at a time without "
                    + "dropping a request (pm2 restart all, pm2 reload all), is shepherd reload");
        }
        if (worker.equalsIgnoreCase("all")) {
            // PM2's "restart all" (a new user's, who got "'all' is not a whole number").
            throw new CommandLine.ParameterException(spec.commandLine(), "every worker, one at a time without "
                    + "dropping a request, is shepherd reload; replace takes one worker's id");
        }
        int id;
        try {
            id = Integer.parseInt(worker.strip());
        } catch (NumberFormatException notOne) {
            throw new CommandLine.ParameterException(spec.commandLine(), "ID must be a worker's id (the ID column of "
                    + "shepherd ls), not '" + worker + "'");
        }
        JsonNode answer = ctl.client().post("/fleet/workers/" + id + "/replace", null);
        ctl.out().println("replacing worker " + id + ": its replacement is worker " + answer.path("replacement").asInt());
        return Ctl.OK;
    }

    /** The command's name as typed: restart, its alias, or replace. */
    private String typed() {
        return spec.commandLine().getParent().getParseResult().originalArgs().contains("restart") ? "restart" : "replace";
    }
}
