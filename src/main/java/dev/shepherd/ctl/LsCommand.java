package dev.shepherd.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code shepherd ls}: the workers as a table, or {@code GET /fleet} as it is with {@code --json}. */
@Command(name = "ls", aliases = "list", description = "Lists the workers: id (what logs, kill, signal and replace take), "
        + "index (0..N-1, SHEPHERD_WORKER_INDEX), pid, state, uptime, restarts, requests in flight and served, "
        + "memory (the process tree's PSS, its share of shared pages: below the RSS that ps and PM2 show), last exit.")
class LsCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Option(names = "--json", description = "Print GET /fleet as the API sends it: the stable machine-readable form.")
    boolean json;

    @Override
    public Integer call() {
        if (json) {
            ctl.out().println(ctl.client().getText("/fleet"));
        } else {
            ctl.out().print(FleetTable.render(ctl.client().get("/fleet")));
        }
        return Ctl.OK;
    }
}
