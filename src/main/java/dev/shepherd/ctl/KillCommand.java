package dev.shepherd.ctl;

import dev.shepherd.SignalNames;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code shepherd kill ID [--signal TERM|KILL]}: signals a worker's process tree without draining it, a crash
 * drill ({@code POST /fleet/workers/{id}/kill}); once it exits, the fleet restarts the worker as after any crash (one
 * that ignores TERM keeps running, as under kill(1); the help says so: found by a new user's attack).
 */
@Command(name = "kill", description = {"Signals a worker's processes without draining it; once it exits, the fleet "
        + "restarts it as after a crash.", "A worker that ignores TERM keeps running: send KILL (-s KILL)."})
class KillCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    /** The id, and kill(1)'s {@code -9} or {@code -KILL} before it (a new user's {@code kill -9 36}). */
    @Parameters(paramLabel = "ID", arity = "0..2", description = "The worker's id (the ID column of shepherd ls).")
    List<String> words = new ArrayList<>();

    @Option(names = {"-s", "--signal"}, paramLabel = "S", defaultValue = "TERM", description = "TERM or KILL, with or without SIG (default: ${DEFAULT-VALUE}).")
    String signal;

    @Override
    public Integer call() {
        Integer id = null;
        for (String word : words) {
            if (word.length() > 1 && word.startsWith("-") && !word.startsWith("--")) {
                signal = word.substring(1);
            } else if (id != null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "kill takes the id of one worker: "
                        + "shepherd kill ID [--signal TERM|KILL]");
            } else {
                try {
                    id = Integer.valueOf(word.strip());
                } catch (NumberFormatException notAnId) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "ID must be a worker's id (the ID "
                            + "column of shepherd ls), not '" + word + "'");
                }
            }
        }
        if (id == null) {
            // pm2 kill stops the daemon and every app; here that is the master's own stop (a new user's).
            throw new CommandLine.ParameterException(spec.commandLine(), "kill takes the id of one worker (the ID "
                    + "column of shepherd ls): shepherd kill ID. To stop every worker and the master, as pm2 kill does, "
                    + "stop the master itself (SIGTERM, systemctl stop shepherd, docker stop)");
        }
        String name = SignalNames.named(signal);
        if (!name.equals("TERM") && !name.equals("KILL")) {
            // A usage error, told before asking the master (which would refuse it too).
            String other = SignalNames.request(signal);
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--signal must be TERM or KILL, with or without SIG, not '" + signal + "'" + (other == null ? ""
                            : "; " + other + " is not meant to stop a worker: shepherd signal " + other + " " + id));
        }
        String body = Json.MAPPER.writeValueAsString(Map.of("signal", name));
        String sent = ctl.client().post("/fleet/workers/" + id + "/kill", body).path("signal").asString(name);
        ctl.out().println("sent " + sent + " to worker " + id);
        return Ctl.OK;
    }
}
