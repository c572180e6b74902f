package dev.shepherd.testsupport;

import dev.shepherd.ShepherdApplication;
import org.awaitility.core.ConditionTimeoutException;
import org.springframework.util.FileSystemUtils;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A master in a JVM of its own, for what cannot happen to the test's own JVM: {@code kill -9} of the master.
 * {@link #close()} kills it and everything it started that is still there.
 */
public final class MasterProcess implements AutoCloseable {

    private static final Pattern READY_PID = Pattern.compile("\"pid\":(\\d+),\"port\":\\d+,\"state\":\"READY\"");
    private static final Pattern PROXY_PORT = Pattern.compile("Proxy listening on \\S+:(\\d+) ");
    private static final String PROXY_PORT_ARG = "--server.port=";
    private static final Pattern HEAP_USED = Pattern.compile("\"statistic\":\"VALUE\",\"value\":([0-9.E]+)");

    private final Process process;
    private final int adminPort;
    private final List<ProcessHandle> started = new ArrayList<>();
    private final Path log;
    /** The proxy port the test named ({@code --server.port=N}), or 0 when the master drew one. */
    private final int givenProxyPort;
    /** The master's {@code java.io.tmpdir}, removed with what is in it once the master is gone. */
    private final Path temporary;

    private MasterProcess(Process process, int adminPort, Path log, Path temporary, int givenProxyPort) {
        this.process = process;
        this.adminPort = adminPort;
        this.log = log;
        this.givenProxyPort = givenProxyPort;
        this.temporary = temporary;
    }

    /**
     * Runs a master that is expected not to start, until it exits (at most 60 s), and returns what it printed. Fails
     * when it is still running then.
     */
    public static String runUntilExit(List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        File log = File.createTempFile("master", ".log");
        log.deleteOnExit();
        Path temporary = Files.createTempDirectory("master");
        Process process = new ProcessBuilder(command(List.of(), jvmOptions, temporary, FreePorts.unassigned(), 1, args))
                .redirectErrorStream(true).redirectOutput(log).start();
        try {
            boolean exited = process.waitFor(60, TimeUnit.SECONDS);
            String output = Files.readString(log.toPath());
            if (!exited) {
                throw new AssertionError("the master is still running after 60 s: " + output);
            }
            return output;
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            delete(temporary);
        }
    }

    /**
     * The master's command line. Its {@code java.io.tmpdir} is {@code temporary}: what it leaves there when it is
     * killed (embedded Tomcat's directories, which Spring Boot removes on a normal exit only) goes with it.
     */
    private static List<String> command(List<String> prefix, List<String> jvmOptions, Path temporary, int adminPort,
                                        int workers, String... args) {
        List<String> options = new ArrayList<>(List.of("-Xmx256m", "-Djava.io.tmpdir=" + temporary));
        options.addAll(jvmOptions);
        List<String> command = new ArrayList<>(prefix);
        command.addAll(RunningShepherd.javaCommand(ShepherdApplication.class, options.toArray(String[]::new)));
        if (Stream.of(args).noneMatch(arg -> arg.startsWith(PROXY_PORT_ARG))) {
            command.add(PROXY_PORT_ARG + 0);
        }
        command.addAll(List.of("--management.server.port=" + adminPort, "--fleet.workers=" + workers));
        command.addAll(List.of(args));
        return command;
    }

    /** What the master has printed so far. */
    public String output() throws IOException {
        return Files.readString(log);
    }

    /** Starts a master with {@code args} (and random ports) and waits until {@code workers} workers are READY. */
    public static MasterProcess startReady(int workers, String... args) {
        return startReady(List.of(), workers, args);
    }

    /**
     * Like {@link #startReady(int, String...)}, with options for the master's JVM ({@code -Dname=value}). The admin
     * port is picked free before the master binds it, so another process may take it first: then the master exits
     * saying so, and it is started again on another port (three tries). A master that exits for any other reason
     * fails at once with its output, instead of after the 60 s wait.
     */
    public static MasterProcess startReady(List<String> jvmOptions, int workers, String... args) {
        return startReady(List.of(), jvmOptions, workers, args);
    }

    /**
     * Like {@link #startReady(List, int, String...)}, with the master's open-file limit set to {@code openFiles}
     * (soft and hard) by util-linux's {@code prlimit}, which execs the JVM: the master's pid is the process's.
     */
    public static MasterProcess startReadyWithOpenFileLimit(int openFiles, List<String> jvmOptions, int workers,
                                                            String... args) {
        return startReady(List.of("prlimit", "--nofile=" + openFiles + ":" + openFiles), jvmOptions, workers, args);
    }

    /**
     * Like {@link #startReady(int, String...)}, with {@code variables} added to the master's environment by
     * coreutils' {@code env}, which execs the JVM: the master's pid is the process's.
     */
    public static MasterProcess startReadyWithEnvironment(Map<String, String> variables, int workers, String... args) {
        List<String> prefix = new ArrayList<>(List.of("env"));
        variables.forEach((name, value) -> prefix.add(name + "=" + value));
        return startReady(prefix, List.of(), workers, args);
    }

    /**
     * Like {@link #startReady(int, String...)}, with the master's stdout a pipe that nobody reads until the test does
     * ({@link #stdout()}), as a pipe to a stopped reader is: what the master logs is read from a file it logs to as
     * well ({@code logging.file.name}), its stderr goes to the same file.
     */
    public static MasterProcess startReadyWithStdoutUnread(int workers, String... args) {
        return startReady(List.of(), List.of(), true, workers, args);
    }

    private static MasterProcess startReady(List<String> prefix, List<String> jvmOptions, int workers, String... args) {
        return startReady(prefix, jvmOptions, false, workers, args);
    }

    private static MasterProcess startReady(List<String> prefix, List<String> jvmOptions, boolean stdoutUnread,
                                            int workers, String... args) {
        for (int attempt = 1; ; attempt++) {
            MasterProcess master = start(prefix, jvmOptions, stdoutUnread, workers, args);
            try {
                // A master's JVM and its workers' starting beside two other test forks: 61 s once, on a loaded host.
                await().atMost(Duration.ofSeconds(120)).ignoreExceptions()
                        .until(() -> !master.process.isAlive() || master.readyWorkerPids().size() == workers);
                if (master.process.isAlive()) {
                    master.started.addAll(master.process.toHandle().descendants().toList());
                    return master;
                }
                String output = master.output();
                delete(master.temporary);
                if (attempt == 3 || !output.contains("already in use")) {
                    throw new AssertionError("the master exited before " + workers + " workers were READY: " + output);
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            } catch (RuntimeException | Error ex) {
                master.process.descendants().forEach(ProcessHandle::destroyForcibly);
                master.process.destroyForcibly();
                delete(master.temporary);
                throw ex;
            }
        }
    }

    private static MasterProcess start(List<String> prefix, List<String> jvmOptions, boolean stdoutUnread, int workers,
                                       String... args) {
        int adminPort = FreePorts.unassigned();
        try {
            File log = File.createTempFile("master", ".log");
            log.deleteOnExit();
            Path temporary = Files.createTempDirectory("master");
            Process process;
            if (stdoutUnread) {
                List<String> withFile = new ArrayList<>(List.of(args));
                withFile.add("--logging.file.name=" + log);
                process = new ProcessBuilder(command(prefix, jvmOptions, temporary, adminPort, workers,
                        withFile.toArray(String[]::new))).redirectError(ProcessBuilder.Redirect.appendTo(log)).start();
            } else {
                process = new ProcessBuilder(command(prefix, jvmOptions, temporary, adminPort, workers, args))
                        .redirectErrorStream(true).redirectOutput(log).start();
            }
            return new MasterProcess(process, adminPort, log.toPath(), temporary, givenProxyPort(args));
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    /** The pids GET /fleet reports as READY. */
    public List<Long> readyWorkerPids() throws IOException, InterruptedException {
        HttpRequest fleet = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/fleet")).build();
        String body = HttpClient.newHttpClient().send(fleet, HttpResponse.BodyHandlers.ofString()).body();
        List<Long> pids = new ArrayList<>();
        Matcher matcher = READY_PID.matcher(body);
        while (matcher.find()) {
            pids.add(Long.parseLong(matcher.group(1)));
        }
        return pids;
    }

    /** The master's stdout, for a master started with it unread ({@link #startReadyWithStdoutUnread}). */
    public InputStream stdout() {
        return process.getInputStream();
    }

    /** The master's own pid. */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * The master JVM flags the README recommends (and ReadmeTests keeps in step with the image and bench/): a master
     * run with them has the heap a deployment has, 128 MB, and exits on an {@code OutOfMemoryError}.
     */
    public static List<String> recommendedFlags() throws IOException {
        Matcher command = Pattern.compile("MALLOC_ARENA_MAX=2 _JAVA_SR_SIGNUM=39 java (.+) -jar target/shepherd\\.jar")
                .matcher(Files.readString(Path.of("README.md")));
        if (!command.find() || !command.group(1).contains("-Xmx128m")
                || !command.group(1).contains("-XX:+ExitOnOutOfMemoryError")) {
            throw new AssertionError("README.md has no recommended master command line with -Xmx128m and "
                    + "-XX:+ExitOnOutOfMemoryError");
        }
        return List.of(command.group(1).split(" "));
    }

    /** The admin port (API, Actuator). */
    public int adminPort() {
        return adminPort;
    }

    /** GET on the admin port: the status and the body. */
    public HttpResponse<String> admin(String path) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(20)).build();
        return HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
    }

    /** The port {@code args} name for the proxy, 0 when they name none. */
    private static int givenProxyPort(String... args) {
        return Stream.of(args).filter(arg -> arg.startsWith(PROXY_PORT_ARG))
                .mapToInt(arg -> Integer.parseInt(arg.substring(PROXY_PORT_ARG.length()))).findFirst().orElse(0);
    }

    /**
     * The proxy's port: the one the test named with {@code --server.port=N}, else as the master logged it. A test
     * whose workers flood the master's console names it, since a console that takes less than it is given drops lines
     * ({@code ConsoleBuffer}), that one too.
     */
    public int proxyPort() throws IOException {
        if (givenProxyPort > 0) {
            return givenProxyPort;
        }
        Matcher matcher = PROXY_PORT.matcher(output());
        if (!matcher.find()) {
            throw new IllegalStateException("the master has not logged its proxy port yet");
        }
        return Integer.parseInt(matcher.group(1));
    }

    /** Runs a full GC in the master ({@code jcmd <pid> GC.run}) and returns its heap in use right after, in bytes. */
    public long heapUsedAfterGc() throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process gc = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), "GC.run").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!gc.waitFor(30, TimeUnit.SECONDS) || gc.exitValue() != 0) {
            gc.destroyForcibly();
            throw new IllegalStateException("jcmd GC.run failed on the master");
        }
        String body = admin("/actuator/metrics/jvm.memory.used?tag=area:heap").body();
        Matcher matcher = HEAP_USED.matcher(body);
        if (!matcher.find()) {
            throw new IllegalStateException("no heap figure in " + body);
        }
        return (long) Double.parseDouble(matcher.group(1));
    }

    /** Every process the master had started once its workers were READY: workers, their children, helpers. */
    public List<ProcessHandle> startedProcesses() {
        return started;
    }

    /** The master's exit code, once it has exited. */
    public int exitCode() {
        return process.exitValue();
    }

    /** {@code kill -9} of the master, and waits until it is gone. */
    public void killDashNine() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /**
     * {@code kill -9} of the master, then what the orphan guard does when its master dies (end the workers' trees,
     * remove its groups file) is awaited, at most 10 s, before anything left is killed too, and the master's
     * temporary directory is removed. A guard that ended on its own must have removed its groups file.
     */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> started.stream().noneMatch(ProcessHandle::isAlive));
            try (var files = Files.list(temporary)) {
                assertThat(files.map(file -> file.getFileName().toString()).filter(name -> name.startsWith("shepherd-")
                        && name.contains("-groups"))).as("the orphan guard's groups file").isEmpty();
            }
        } catch (ConditionTimeoutException ex) {
            started.forEach(ProcessHandle::destroyForcibly);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        } finally {
            delete(temporary);
        }
    }

    private static void delete(Path directory) {
        try {
            FileSystemUtils.deleteRecursively(directory);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
