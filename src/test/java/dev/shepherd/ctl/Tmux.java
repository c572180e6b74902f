package dev.shepherd.ctl;

import dev.shepherd.ShepherdApplication;
import dev.shepherd.testsupport.RunningShepherd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * One command line in a real terminal: a detached tmux session of 160 × 40 on a server of its own, whose socket
 * is in the test's directory (so that nothing touches a user's tmux, and nothing is left when the directory goes),
 * whose screen is read with {@code capture-pane} and typed into with {@code send-keys}. The pane stays, dead, once
 * the command has ended ({@code remain-on-exit}), so that its last screen can be read; the script around the
 * command writes its exit status to a file. {@link #close} ends the private server and everything in it.
 */
final class Tmux implements AutoCloseable {

    private static final long COMMAND_SECONDS = 10;

    private final Path directory;
    private final Path socket;

    private Tmux(Path directory) {
        this.directory = directory;
        this.socket = directory.resolve("tmux.sock");
    }

    /**
     * Runs {@code shepherd ARGS} (the test classpath's {@link ShepherdApplication} with {@code ctl}) with
     * {@code env} in a new session; after it ended, the terminal's settings ({@code stty -a}) are written to
     * {@link #sttyAfter()}.
     */
    static Tmux ctl(Path directory, Map<String, String> env, String... args) throws IOException {
        Tmux tmux = new Tmux(directory);
        List<String> command = new ArrayList<>(RunningShepherd.javaCommand(ShepherdApplication.class, "-Xmx64m"));
        command.add("ctl");
        command.addAll(List.of(args));
        StringBuilder script = new StringBuilder();
        env.forEach((name, value) -> script.append("export ").append(name).append('=').append(quote(value)).append('\n'));
        script.append(command.stream().map(Tmux::quote).collect(Collectors.joining(" "))).append('\n')
                .append("code=$?\nstty -a > ").append(quote(tmux.sttyAfter().toString()))
                .append("\necho $code > ").append(quote(tmux.exitStatusFile() + ".new"))
                .append(" && mv ").append(quote(tmux.exitStatusFile() + ".new")).append(' ').append(quote(tmux.exitStatusFile().toString()))
                .append("\nexit $code\n");
        Path run = directory.resolve("run.sh");
        Files.writeString(run, script);
        Path config = directory.resolve("tmux.conf");
        Files.writeString(config, "set -g remain-on-exit on\nset -g status off\n");
        tmux.tmux("-f", config.toString(), "new-session", "-d", "-s", "ctl", "-x", "160", "-y", "40", "sh " + quote(run.toString()));
        return tmux;
    }

    Path sttyAfter() {
        return directory.resolve("stty-after");
    }

    /** The screen as text, one line per row. */
    String screen() {
        return tmux("capture-pane", "-p", "-t", "ctl");
    }

    void type(String keys) {
        tmux("send-keys", "-t", "ctl", keys);
    }

    /**
     * True once the command has ended: the script wrote its exit status. (Not tmux's {@code pane_dead_status}: after
     * another test's tmux server, this machine's tmux 3.3a sometimes marked the pane dead without ever reading the
     * status.)
     */
    boolean ended() {
        return Files.exists(exitStatusFile());
    }

    /** The ended command's exit status. */
    int exitStatus() throws IOException {
        return Integer.parseInt(Files.readString(exitStatusFile()).strip());
    }

    private Path exitStatusFile() {
        return directory.resolve("exit-status");
    }

    private String tmux(String... args) {
        List<String> command = new ArrayList<>(List.of("tmux", "-S", socket.toString()));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (!process.waitFor(COMMAND_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("tmux did not answer within " + COMMAND_SECONDS + " s: " + command);
            }
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new IllegalStateException(command + " failed: " + output);
            }
            return output;
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    private static String quote(String value) {
        return "'" + value.replace("'", "'\\''") + "'";
    }

    /**
     * Ends this test's tmux session and server, and with them the command (SIGHUP); waits up to
     * {@value #COMMAND_SECONDS} s for its processes to end, then kills those left.
     */
    @Override
    public void close() {
        List<ProcessHandle> processes = new ArrayList<>();
        try {
            ProcessHandle.of(Long.parseLong(tmux("display-message", "-p", "-t", "ctl", "#{pane_pid}").strip())).ifPresent(shell -> {
                processes.add(shell);
                shell.descendants().forEach(processes::add);
            });
            tmux("kill-session", "-t", "ctl");
            tmux("kill-server");
        } catch (IllegalStateException | NumberFormatException ex) {
            // The server is gone already, and its pane with it.
        }
        for (ProcessHandle process : processes) {
            try {
                process.onExit().get(COMMAND_SECONDS, TimeUnit.SECONDS);
            } catch (Exception ex) {
                process.destroyForcibly();
            }
        }
    }
}
