package dev.shepherd.ctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code shepherd scale N}: {@code POST /fleet/scale}; the master starts or drains workers in the background. */
@Command(name = "scale", description = "Sets the number of workers the fleet keeps running.")
class ScaleCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "N", description = "The number of workers, 1 to fleet.max-workers.")
    int workers;

    @Override
    public Integer call() {
        if (workers < 1) {
            // A usage error, told before asking the master (which would refuse it too).
            throw new CommandLine.ParameterException(spec.commandLine(), "N must be 1 or more, not " + workers);
        }
        int desired = ctl.client().post("/fleet/scale", "{\"workers\":" + workers + "}").path("desired").asInt();
        ctl.out().println("scaling to " + desired + " workers (shepherd ls shows them)");
        return Ctl.OK;
    }
}
