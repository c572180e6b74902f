package dev.shepherd.ctl;

import dev.shepherd.SignalNames;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code shepherd signal SIGNAL ID|all} ({@code sendSignal}, PM2's word and order: {@code pm2 sendSignal SIGUSR2
 * app}): sends a worker's process, or every worker's, a signal that is not meant to stop it, such as USR2 for a heap
 * snapshot or HUP to reopen logs ({@code POST /fleet/workers/{id}/signal}, {@code POST /fleet/signal}). TERM and KILL
 * are {@link KillCommand}'s.
 */
@Command(name = "signal", aliases = "sendSignal", description = {"Sends a worker's process, or every worker's (all), a "
        + "signal that is not meant to stop it: HUP, INT, QUIT, USR1 or USR2 (pm2 sendSignal).",
        "Only the worker's own process gets it, not the processes it started. One that does not handle the signal "
                + "exits, and is restarted. To stop a worker: kill."})
class SignalCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    /** Optional to picocli, so that its absence gets words of its own rather than "Missing required parameter". */
    @Parameters(index = "0", paramLabel = "SIGNAL", arity = "0..1", description = "HUP, INT, QUIT, USR1 or USR2: any "
            + "case, with or without SIG (SIGUSR2), or its number (1, 2, 3, 10, 12).")
    String signal;

    @Parameters(index = "1", paramLabel = "ID|all", arity = "0..1", description = "The worker's id (the ID column of "
            + "shepherd ls), or all: every worker that has a running process.")
    String worker;

    @Override
    public Integer call() {
        if (signal == null || worker == null) {
            throw usage("signal takes the signal, then the id of a worker (the ID column of shepherd ls) or all: "
                    + "shepherd signal USR2 3, shepherd signal USR2 all");
        }
        // kill(1)'s -USR2 and -12 (unmatched options are taken as the signal).
        String given = signal.startsWith("-") && !signal.startsWith("--") ? signal.substring(1) : signal;
        String name = SignalNames.request(given);
        if (name == null && !worker.strip().matches("\\d+") && SignalNames.request(worker) != null) {
            // signal all USR2, signal 3 USR2: the target first, as docker kill and kill -s write it.
            throw usage("the signal comes first, then the worker (pm2 sendSignal's order): shepherd signal "
                    + SignalNames.request(worker) + " " + signal.strip());
        }
        if (name == null) {
            throw usage("SIGNAL must be " + SignalNames.TAKEN + ", not '" + signal + "'" + SignalNames.whyNot(given));
        }
        if (worker.strip().equalsIgnoreCase("all")) {
            JsonNode answer = ctl.client().post("/fleet/signal", body(name));
            List<String> ids = new ArrayList<>();
            answer.path("workers").forEach(id -> ids.add(id.asString()));
            String sent = answer.path("signal").asString(name);
            ctl.out().println("sent " + sent + " to " + (ids.size() == 1 ? "worker " : "workers ") + String.join(", ", ids));
            return Ctl.OK;
        }
        int id;
        try {
            id = Integer.parseInt(worker.strip());
        } catch (NumberFormatException notOne) {
            if (SignalNames.request(worker) != null) {
                // docker kill --signal's and kill -s's habit of naming the target last, turned round.
                throw usage("the signal comes first, then the worker (pm2 sendSignal's order): shepherd signal "
                        + SignalNames.request(worker) + " " + signal.strip());
            }
            throw usage("ID must be a worker's id (the ID column of shepherd ls) or all, not '" + worker + "'");
        }
        String sent = ctl.client().post("/fleet/workers/" + id + "/signal", body(name)).path("signal").asString(name);
        ctl.out().println("sent " + sent + " to worker " + id);
        return Ctl.OK;
    }

    private static String body(String name) {
        return Json.MAPPER.writeValueAsString(Map.of("signal", name));
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
