package dev.shepherd.ctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.Console;
import java.lang.reflect.Method;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/**
 * {@code shepherd top}: a live view of the fleet ({@link TopView}) in the manner of {@code pm2 monit} and
 * {@code htop}; when standard output is not a terminal, one snapshot of it ({@link TopScreen}), like
 * {@code top -b -n 1}.
 */
@Command(name = "top", aliases = "monit", description = {"A live view of the fleet: health, ready of desired workers, "
        + "the latest reload, requests per second and the workers as in ls; redrawn on every event of the fleet and "
        + "every second. q or Ctrl-C quits.",
        "When standard output is not a terminal (a pipe, a file), or with -b or -n, prints snapshots and exits, "
                + "like top -b -n 1."})
class TopCommand implements Callable<Integer> {

    @ParentCommand
    Ctl ctl;

    @Spec
    CommandSpec spec;

    @Option(names = {"-b", "--batch"}, description = "Print snapshots, one after another, instead of the live view "
            + "(top's batch mode).")
    boolean batch;

    @Option(names = {"-n", "--iterations"}, paramLabel = "N", description = "How many snapshots to print, -d apart "
            + "(top's -n); implies -b. Default: 1.")
    Integer iterations;

    /** A string, read here: top takes fractions ({@code -d 0.5}), and picocli's own error for a number said little. */
    @Option(names = {"-d", "--delay"}, paramLabel = "SECONDS", description = "Seconds between snapshots, " + MIN_DELAY
            + " to " + MAX_DELAY + ", such as 2 or 0.5 (top's -d); in the live view, the longest it goes without a "
            + "redraw. Default: 1.")
    String delay;

    @Override
    public Integer call() throws Exception {
        if (iterations != null && (iterations < 1 || iterations > 86_400)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be 1 to 86400 snapshots, not "
                    + iterations);
        }
        long delayMillis = delayMillis();
        if (batch || iterations != null || !interactive()) {
            TopScreen screen = new TopScreen(ctl.client().url().toString(), false);
            int frames = iterations == null ? 1 : iterations;
            for (int frame = 0; frame < frames; frame++) {
                if (frame > 0) {
                    ctl.out().println();
                    // The CLI's own pace (a second unless -d gives another), no timer of the master's.
                    Thread.sleep(delayMillis);
                }
                screen.frame(ctl.client().get("/fleet"), ctl.client().health(), Instant.now(), System.nanoTime())
                        .forEach(ctl.out()::println);
            }
            return Ctl.OK;
        }
        return new TopView(ctl.client(), delayMillis).run();
    }

    /**
     * {@code -d}'s delay in milliseconds, {@value TopView#TICK_MILLIS} without it; a usage error for what is no number
     * of seconds within the bounds ({@code top -d 2 -n 2}, top's habit, said "Unknown options": a new user's).
     */
    private long delayMillis() {
        if (delay == null) {
            return TopView.TICK_MILLIS;
        }
        BigDecimal seconds = null;
        if (SECONDS.matcher(delay.strip()).matches()) {
            seconds = new BigDecimal(delay.strip());
        }
        if (seconds == null || seconds.compareTo(new BigDecimal(MIN_DELAY)) < 0
                || seconds.compareTo(new BigDecimal(MAX_DELAY)) > 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), Ctl.typedName(spec, "--delay") + " must be a "
                    + "number of seconds, " + MIN_DELAY + " to " + MAX_DELAY + ", not '" + delay + "'");
        }
        return seconds.movePointRight(3).setScale(0, RoundingMode.HALF_UP).longValueExact();
    }

    /** Bounds of {@code -d}: the live view reads the fleet at most every {@value TopView#MIN_FRAME_MILLIS} ms. */
    static final String MIN_DELAY = "0.2";
    static final String MAX_DELAY = "3600";
    /** A decimal number, as top's {@code -d} takes it; at most three decimals, milliseconds. */
    private static final Pattern SECONDS = Pattern.compile("\\d{1,9}(\\.\\d{0,3})?|\\.\\d{1,3}");

    /**
     * True when this JVM's standard input and output are a terminal: {@link System#console()} is null otherwise on
     * Java 17 to 21; from Java 22 on it may be a console that is not a terminal, which {@code isTerminal()} tells.
     */
    static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(console);
        } catch (NoSuchMethodException ex) {
            return true;
        } catch (ReflectiveOperationException ex) {
            return false;
        }
    }
}
