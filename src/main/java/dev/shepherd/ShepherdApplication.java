package dev.shepherd;

import dev.shepherd.ctl.Ctl;
import dev.shepherd.demo.DemoWorker;
import dev.shepherd.fleet.FleetSignals;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.context.annotation.Bean;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;

/**
 * Shepherd's entry point: {@code java -jar shepherd.jar} runs the master;
 * {@code java -jar shepherd.jar worker} runs the built-in demo worker and {@code java -jar shepherd.jar ctl …} the
 * command line, both before any Spring code loads.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class ShepherdApplication {

    public static final String WORKER_COMMAND = "worker";

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && WORKER_COMMAND.equals(args[0])) {
            DemoWorker.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && Ctl.COMMAND.equals(args[0])) {
            Ctl.main(Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        if (args.length > 0 && StartCommand.NAME.equals(args[0])) {
            int[] exitCode = {0};
            PrintWriter out = new PrintWriter(System.out, true);
            PrintWriter err = new PrintWriter(System.err, true);
            List<String> spring = StartCommand.springArguments(Arrays.copyOfRange(args, 1, args.length), out, err,
                    Runtime.getRuntime()::availableProcessors, exitCode);
            if (spring == null) {
                out.flush();
                System.exit(exitCode[0]);
                return;
            }
            args = spring.toArray(String[]::new);
        }
        if (Arrays.asList(args).contains("--version") || Arrays.asList(args).contains("-V")) {
            Ctl.main(new String[] {"--version"});
            return;
        }
        String refusal = refusal(args);
        if (refusal != null) {
            boolean asked = Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h");
            (asked ? System.out : System.err).println(refusal);
            System.exit(asked ? 0 : 2);
            return;
        }
        // Where TLS runs on the JDK's (no BoringSSL), a client must not renegotiate at will: each costs a full
        // handshake (an attacking helper forced 2,713 in 8 s on two connections). BoringSSL refuses it already.
        if (System.getProperty(REJECT_RENEGOTIATION) == null) {
            System.setProperty(REJECT_RENEGOTIATION, "true");
        }
        ConsoleBuffer.install();
        SecondInterrupt.install();
        FleetSignals.install();
        SpringApplication.run(ShepherdApplication.class, args);
    }

    /** {@code shepherd.console.dropped}: what the master's console did not take ({@link ConsoleBuffer}). */
    @Bean
    static MeterBinder consoleMetrics() {
        return ConsoleBuffer.metrics();
    }

    /** {@code shepherd.log.file.dropped}: what the master's log file did not take ({@link LogFileBuffer}). */
    @Bean
    static MeterBinder logFileMetrics() {
        return LogFileBuffer.metrics();
    }

    /**
     * Why the master does not start with {@code args}, or null when it does: it takes settings only
     * ({@code --name=value}, Spring Boot's {@code --debug}); a word such as {@code status} was a command meant for the
     * command line, and Spring Boot would ignore it and start a whole master (found by a new user's attack).
     * {@code --help} explains the same.
     */
    static String refusal(String[] args) {
        String usage = "java -jar shepherd.jar [--setting=value ...] runs the master (settings: README, Configuration); "
                + "java -jar shepherd.jar start [-i N] PROGRAM [ARG...] runs it with the worker's command as typed "
                + "(start --help); the command line is bin/shepherd COMMAND, or java -jar shepherd.jar ctl COMMAND "
                + "(ctl --help lists the commands)";
        List<String> all = Arrays.asList(args);
        if (all.contains("--help") || all.contains("-h")) {
            return usage;
        }
        if (args.length > 0 && !args[0].startsWith("-") && dev.shepherd.ctl.Ctl.commandNames().contains(args[0])) {
            // A new user's java -jar shepherd.jar signal USR2 3 was told 'signal' is not a setting.
            return "'" + TerminalText.safe(args[0]) + "' is a command of the command line: java -jar shepherd.jar ctl "
                    + TerminalText.safe(String.join(" ", args)) + " (or bin/shepherd " + TerminalText.safe(args[0])
                    + " ...)";
        }
        for (String arg : args) {
            // "--" alone, or "--=x", is no setting either: Spring Boot would stop on it with a stack trace.
            if (!arg.startsWith("--") || arg.length() == 2 || arg.startsWith("--=")) {
                return "'" + TerminalText.safe(arg) + "' is not a setting: " + usage;
            }
            // Every setting's name has a dot (fleet.workers, server.port) but Spring Boot's two flags: "--status" was a
            // command meant for the command line and "--port=9000" a setting that does not exist, and Spring Boot
            // would start a whole master for either, ignoring it.
            String name = arg.substring(2, arg.indexOf('=') < 0 ? arg.length() : arg.indexOf('='));
            if (name.indexOf('.') < 0 && !SPRING_BOOT_FLAGS.contains(name)
                    || emptyElement(name)) {
                return "'" + TerminalText.safe(arg) + "' is not a setting (settings have dotted names, such as "
                        + "--fleet.workers=4 or --server.port=8080): " + usage;
            }
        }
        return null;
    }

    /** Whether {@code name} has an empty element ({@code .x}, {@code a.}, {@code a..b}); a {@code [key]} may hold dots. */
    private static boolean emptyElement(String name) {
        String outsideKeys = name.replaceAll("\\[[^]]*]", "[]");
        return outsideKeys.startsWith(".") || outsideKeys.endsWith(".") || outsideKeys.contains("..");
    }

    /** Spring Boot's flags without a value: {@code --debug} and {@code --trace} turn on its reports. */
    private static final List<String> SPRING_BOOT_FLAGS = List.of("debug", "trace");

    private static final String REJECT_RENEGOTIATION = "jdk.tls.rejectClientInitiatedRenegotiation";
}
