package dev.shepherd;

import org.springframework.util.unit.DataSize;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import java.util.regex.Pattern;

/**
 * {@code shepherd start}'s options and PROGRAM as the master's Spring Boot arguments ({@code --name=value}), each
 * checked here, naming the option, rather than after the master's start, naming the setting.
 */
final class StartSettings {

    /** A setting's name as {@code --set} takes it: dotted, such as {@code fleet.proxy.balancer}. */
    private static final Pattern SETTING = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_\\[\\]-]+)+");
    /** An environment variable's name (POSIX: letters, digits and underscores, not starting with a digit). */
    private static final Pattern VARIABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private StartSettings() {
    }

    /** {@code start}'s options and PROGRAM as parsed by {@code line}; {@code processors}: the CPUs, for {@code -i max}. */
    static List<String> of(StartCommand start, CommandLine line, IntSupplier processors) {
        List<String> spring = fromOptions(start, line, processors);
        for (int i = 0; i < start.command.size(); i++) {
            spring.add("--fleet.worker.command[" + i + "]=" + literal(start.command.get(i)));
        }
        List<String> own = spring.stream().map(arg -> uniform(arg.substring(2, arg.indexOf('=')))).toList();
        start.settings.forEach((name, value) -> {
            if (!SETTING.matcher(name).matches()) {
                throw new CommandLine.ParameterException(line, "--set " + name + "=...: '" + name + "' is not a "
                        + "setting's name (settings have dotted names, such as fleet.proxy.balancer)");
            }
            // Found by an attacking helper: --set fleet.worker.command=... replaced PROGRAM without a word, and
            // --set server.PORT=... lost to -p the same way.
            String uniform = uniform(name);
            if (own.contains(uniform) || !start.command.isEmpty() && uniform.replaceAll("\\[[^]]*]", "")
                    .equals("fleet.worker.command")) {
                throw new CommandLine.ParameterException(line, "--set " + name + "=...: start sets " + name
                        + " itself from its options or PROGRAM [ARG...]; give it once");
            }
            spring.add("--" + name + "=" + value);
        });
        return spring;
    }

    /** The settings of start's options but {@code --set}. */
    private static List<String> fromOptions(StartCommand start, CommandLine line, IntSupplier processors) {
        List<String> spring = new ArrayList<>();
        if (start.instances != null) {
            spring.add("--fleet.workers=" + workers(line, start.instances, processors.getAsInt()));
            spring.add("--" + StartCommand.TYPED_OPTION + "fleet.workers=" + typed(line, "-i"));
        }
        if (start.port != null) {
            spring.add("--server.port=" + port(line, "-p", start.port));
            spring.add("--" + StartCommand.TYPED_OPTION + "server.port=" + typed(line, "-p"));
        }
        if (start.adminPort != null) {
            spring.add("--management.server.port=" + port(line, "--admin-port", start.adminPort));
            spring.add("--" + StartCommand.TYPED_OPTION + "management.server.port=--admin-port");
        }
        if (start.port != null && start.port.equals(start.adminPort) && start.port != 0) {
            throw new CommandLine.ParameterException(line, "-p and --admin-port are both " + start.port + ": the "
                    + "proxy and the admin API need ports of their own");
        }
        if (start.workingDirectory != null) {
            spring.add("--fleet.worker.working-directory=" + literal(start.workingDirectory));
            spring.add("--" + StartCommand.TYPED_OPTION + "fleet.worker.working-directory=--cwd");
        }
        if (start.maxMemory != null) {
            spring.add("--fleet.worker.max-memory=" + memorySize(line, start.maxMemory));
            spring.add("--" + StartCommand.TYPED_OPTION + "fleet.worker.max-memory=--max-memory-restart");
        }
        start.environment.forEach((name, value) -> {
            if (!VARIABLE.matcher(name).matches()) {
                throw new CommandLine.ParameterException(line, "--env " + name + "=...: '" + name
                        + "' is not a variable name (letters, digits and _)");
            }
            if (name.equals("PORT")) {
                // A new user's -e PORT=3000 (PM2's cluster shares one port) stopped the master ~10 s later, naming
                // fleet.worker.environment.PORT.
                throw new CommandLine.ParameterException(line, "--env PORT=" + value + ": each worker gets a PORT of "
                        + "its own from Shepherd, which proxies to it; for clients to reach the app on " + value
                        + ", give the proxy that port: -p " + value);
            }
            spring.add("--fleet.worker.environment[" + name + "]=" + literal(value));
        });
        return spring;
    }

    /**
     * {@code value} when it is a TCP port (0: any free one), else a usage error at once, not after the master's start
     * (a new user's {@code -p 99999} was refused by Spring Boot some 30 s later, with exit 1).
     */
    private static int port(CommandLine line, String option, int value) {
        if (value < 0 || value > 65_535) {
            throw new CommandLine.ParameterException(line, option + " must be a port, 0 to 65535 (0: any free one), not "
                    + value);
        }
        return value;
    }

    /**
     * Which of {@code option}'s names was typed ({@code -p}, {@code -p9000}, {@code --port=9000}): the first of its
     * names among the words before PROGRAM, where start's options are.
     */
    private static String typed(CommandLine line, String option) {
        CommandLine.Model.OptionSpec spec = line.getCommandSpec().findOption(option);
        for (String arg : line.getParseResult().originalArgs()) {
            for (String name : spec.names()) {
                if (arg.equals(name) || arg.startsWith(name + "=") || name.length() == 2 && arg.startsWith(name)) {
                    return name;
                }
            }
        }
        return option;
    }

    /**
     * {@code size} as Spring Boot's {@code DataSize} reads it: PM2's one-letter units ({@code 300M}, {@code 1G},
     * {@code 100K}, PM2's {@code max_memory_restart}) become {@code MB}, {@code GB}, {@code KB}; refused here, naming
     * the option, when it is no size at all (not after the master's start, naming the setting).
     */
    private static String memorySize(CommandLine line, String size) {
        String spring = OneLetterSizes.spring(size.trim());
        try {
            DataSize.parse(spring);
            return spring;
        } catch (IllegalArgumentException ex) {
            throw new CommandLine.ParameterException(line, "--max-memory-restart " + TerminalText.safe(size)
                    + ": not a size; give it as 300M, 300MB or 1G");
        }
    }

    /**
     * {@code word} as Spring Boot keeps it literally: it resolves {@code ${...}} in every setting's value (the master's
     * {@code ${PORT}}, even {@code ${fleet.admin.token}}; found by an attacking helper), and {@code \${} is its escape.
     */
    private static String literal(String word) {
        return word.replace("${", "\\${");
    }

    /** A setting's name as Spring Boot compares names: lower case, without dashes, a key in brackets as it is. */
    static String uniform(String name) {
        StringBuilder uniform = new StringBuilder();
        boolean inKey = false;
        for (char c : name.toCharArray()) {
            inKey = c == '[' || inKey && c != ']';
            if (inKey || c == ']') {
                uniform.append(c);
            } else if (c != '-') {
                uniform.append(Character.toLowerCase(c));
            }
        }
        return uniform.toString();
    }

    /** {@code -i}: N, {@code max} or 0 (the CPUs), or -N (the CPUs less N, at least 1), as PM2 reads it. */
    private static int workers(CommandLine line, String instances, int processors) {
        if (instances.equalsIgnoreCase("max")) {
            return processors;
        }
        int n;
        try {
            n = Integer.parseInt(instances.strip());
        } catch (NumberFormatException ex) {
            throw new CommandLine.ParameterException(line, "-i '" + instances + "': give a number of workers, or max");
        }
        return n > 0 ? n : Math.max(1, processors + n);
    }
}
