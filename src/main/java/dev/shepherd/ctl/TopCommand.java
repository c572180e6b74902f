package dev.shepherd.ctl;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.Console;
import java.lang.reflect.Method;
import java.time.Instant;
import java.util.concurrent.Callable;

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

    @Option(names = {"-n", "--iterations"}, paramLabel = "N", description = "How many snapshots to print, a second "
            + "apart (top's -n); implies -b. Default: 1.")
    Integer iterations;

    @Override
    public Integer call() throws Exception {
        if (iterations != null && (iterations < 1 || iterations > 86_400)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "-n must be 1 to 86400 snapshots, not "
                    + iterations);
        }
        if (batch || iterations != null || !interactive()) {
            TopScreen screen = new TopScreen(ctl.client().url().toString(), false);
            int frames = iterations == null ? 1 : iterations;
            for (int frame = 0; frame < frames; frame++) {
                if (frame > 0) {
                    ctl.out().println();
                    // A snapshot a second, as top's default delay is a few: the CLI's own pace, no timer of the master's.
                    Thread.sleep(1000);
                }
                screen.frame(ctl.client().get("/fleet"), ctl.client().health(), Instant.now(), System.nanoTime())
                        .forEach(ctl.out()::println);
            }
            return Ctl.OK;
        }
        return new TopView(ctl.client()).run();
    }

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
