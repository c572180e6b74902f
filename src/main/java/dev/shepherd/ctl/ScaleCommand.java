package dev.shepherd.ctl;

import dev.shepherd.Plural;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code shepherd scale N}: {@code POST /fleet/scale}; the master starts or drains workers in the background. As
 * PM2's {@code pm2 scale app +3}, {@code +N} and {@code -N} scale from the desired count {@code GET /fleet} gives
 * (read, then set: another change in between is overwritten, as with two {@code scale N}); {@code +0} and {@code -0}
 * say that nothing changes, and send nothing. {@code scale N} to the count desired already says so too, from the
 * answer's {@code previous} (the count the master had when it took the scale, so no read can be stale); a master
 * whose answer has none is told of as scaling.
 */
@Command(name = "scale", description = "Sets the number of workers the fleet keeps running.")
class ScaleCommand implements Callable<Integer> {

    private static final Pattern COUNT = Pattern.compile("([+-]?)(\\d+)");

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "N", description = {"The number of workers, 1 to fleet.max-workers; +N or -N: that many "
            + "more or fewer than desired now."})
    String workers;

    /** A second word, taken only to say what it is: pm2 scale APP N names the app first. */
    @Parameters(index = "1", arity = "0..1", hidden = true)
    String second;

    @Override
    public Integer call() {
        if (second != null) {
            // pm2 scale app 3 said "unexpected argument '3'" (a new user's).
            throw new CommandLine.ParameterException(spec.commandLine(), COUNT.matcher(second).matches()
                    && !COUNT.matcher(workers).matches()
                    ? "scale takes the number alone: the master runs one app, so pm2 scale " + workers + " " + second
                    + " is shepherd scale " + second : "unexpected argument '" + second + "'");
        }
        if (workers.equalsIgnoreCase("max")) {
            // start -i max (PM2's) is the CPUs of the host the master starts on, which this command cannot see.
            throw new CommandLine.ParameterException(spec.commandLine(), "scale takes a number: max is start -i's, the "
                    + "CPUs of the master's host; there, shepherd scale $(nproc)");
        }
        Matcher count = COUNT.matcher(workers);
        if (!count.matches() || count.group(2).replaceFirst("^0+(?=.)", "").length() > 9) {
            // A usage error, told before asking the master.
            throw new CommandLine.ParameterException(spec.commandLine(), "N must be a whole number below 1000000000, "
                    + "or +N or -N to add or remove that many workers, not '" + workers + "'");
        }
        int n = Integer.parseInt(count.group(2));
        String sign = count.group(1);
        int target = n;
        if (sign.isEmpty() && n < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "N must be 1 or more, not " + workers);
        }
        if (!sign.isEmpty()) {
            int now = ctl.client().get("/fleet").path("desired").asInt();
            target = sign.equals("+") ? now + n : now - n;
            if (target < 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "the fleet wants "
                        + Plural.of(now, "worker") + "; " + workers + " would leave " + target
                        + ", and 1 is the fewest");
            }
            if (target == now) {
                // scale +0 said "scaling to 2 workers" for a scale that changes nothing (a new user's); nor is one
                // sent, which could only overwrite a change made since the read.
                return unchanged(now);
            }
        }
        JsonNode answer = ctl.client().post("/fleet/scale", "{\"workers\":" + target + "}");
        int desired = answer.path("desired").asInt();
        if (answer.path("previous").isNumber() && answer.path("previous").asInt() == desired) {
            // scale 2 of a fleet of 2 said "scaling to 2 workers" (a new user's), as scale +0 did.
            return unchanged(desired);
        }
        ctl.out().println("scaling to " + Plural.of(desired, "worker") + " (shepherd ls shows them)");
        return Ctl.OK;
    }

    private int unchanged(int desired) {
        ctl.out().println("the fleet wants " + Plural.of(desired, "worker") + " already; nothing changed");
        return Ctl.OK;
    }
}
