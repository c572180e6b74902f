package dev.shepherd.ctl;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

import java.util.concurrent.Callable;

/** {@code shepherd scale N}: {@code POST /fleet/scale}; the master starts or drains workers in the background. */
@Command(name = "scale", description = "Sets the number of workers the fleet keeps running.")
class ScaleCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Parameters(paramLabel = "N", description = "The number of workers, 1 to fleet.max-workers.")
    int workers;

    @Override
    public Integer call() {
        int desired = ctl.client().post("/fleet/scale", "{\"workers\":" + workers + "}").path("desired").asInt();
        ctl.out().println("scaling to " + desired + " workers (shepherd ls shows them)");
        return Ctl.OK;
    }
}
