package dev.shepherd.testsupport;

import dev.shepherd.ShepherdApplication;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.proxy.ProxyServer;
import dev.shepherd.worker.WorkerState;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real Shepherd master for integration tests, on random loopback ports, with real worker processes.
 * {@link #close()} stops it and checks that no child process of the test JVM is left.
 */
public final class RunningShepherd implements AutoCloseable {

    private final ConfigurableApplicationContext context;
    private final HttpClient http = HttpClient.newBuilder().executor(Executors.newFixedThreadPool(4))
            .connectTimeout(Duration.ofSeconds(5)).build();

    private RunningShepherd(ConfigurableApplicationContext context) {
        this.context = context;
    }

    /** Starts a master with the given extra arguments ({@code --fleet.workers=2} ...) and waits for all READY. */
    public static RunningShepherd start(String... args) {
        List<String> all = new ArrayList<>(List.of("--server.port=0", "--management.server.port=0",
                "--server.address=127.0.0.1", "--fleet.demo.work=20000", "--logging.level.dev.shepherd=INFO",
                "--spring.main.banner-mode=off"));
        all.addAll(List.of(args));
        RunningShepherd shepherd = new RunningShepherd(SpringApplication.run(ShepherdApplication.class, all.toArray(String[]::new)));
        return shepherd;
    }

    /** Like {@link #start}, then waits until the desired number of workers is READY. */
    public static RunningShepherd startReady(String... args) {
        RunningShepherd shepherd = start(args);
        try {
            shepherd.awaitReady(shepherd.fleet().snapshot().desired());
        } catch (RuntimeException | Error ex) {
            shepherd.context.close();
            throw ex;
        }
        return shepherd;
    }

    /** The command line that runs {@link EchoWorker} with the test classpath, as fleet.worker.command. */
    public static String echoWorkerCommand() {
        return "--fleet.worker.command=" + String.join(",", javaCommand(EchoWorker.class));
    }

    public static List<String> javaCommand(Class<?> main) {
        return javaCommand(main, "-Xmx32m");
    }

    /**
     * {@code main} in a JVM of its own on the test classpath (on its own class directory alone when it is
     * {@link JdkOnly}; {@link ShepherdApplication} on the jars of {@link MasterClassArchive}, from its archive), with
     * {@link #jvm()}'s options and {@code jvmOptions} (a heap size at least).
     */
    public static List<String> javaCommand(Class<?> main, String... jvmOptions) {
        List<String> command = new ArrayList<>(jvm());
        command.addAll(List.of(jvmOptions));
        if (main == ShepherdApplication.class) {
            command.addAll(MasterClassArchive.command());
        } else {
            command.addAll(List.of("-cp", classpath(main)));
        }
        command.add(main.getName());
        return command;
    }

    /**
     * This JDK's {@code java} with a serial GC and C1 only: a short-lived test process spends more CPU compiling with
     * C2 than it saves.
     */
    static List<String> jvm() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1");
    }

    private static String classpath(Class<?> main) {
        if (!main.isAnnotationPresent(JdkOnly.class)) {
            return System.getProperty("java.class.path");
        }
        return codeSource(main).toString();
    }

    /** The class directory or jar {@code type} was loaded from. */
    static Path codeSource(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException ex) {
            throw new IllegalStateException(ex);
        }
    }

    public WorkerFleetService fleet() {
        return context.getBean(WorkerFleetService.class);
    }

    public String proxyTransport() {
        return context.getBean(ProxyServer.class).transport();
    }

    public int proxyPort() {
        return context.getBean(ProxyServer.class).port();
    }

    public int adminPort() {
        return ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    public ConfigurableApplicationContext context() {
        return context;
    }

    public void awaitReady(int count) {
        await().atMost(Duration.ofSeconds(120)).until(() -> readyPids().size() == count
                && fleet().snapshot().workers().stream().allMatch(worker -> worker.state() == WorkerState.READY));
    }

    public List<Long> readyPids() {
        return fleet().snapshot().workers().stream().filter(worker -> worker.state() == WorkerState.READY)
                .map(WorkerSnapshot::pid).toList();
    }

    public FleetSnapshot snapshot() {
        return fleet().snapshot();
    }

    public HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(proxy(path)).GET().build());
    }

    public HttpResponse<String> admin(String method, String path, String json, Map<String, String> headers) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort() + path))
                .timeout(Duration.ofSeconds(20))
                .method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
        if (json != null) {
            builder.header("Content-Type", "application/json");
        }
        headers.forEach(builder::header);
        return send(builder.build());
    }

    public HttpResponse<String> admin(String method, String path, String json) {
        return admin(method, path, json, Map.of());
    }

    public URI proxy(String path) {
        return URI.create("http://127.0.0.1:" + proxyPort() + path);
    }

    public HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException ex) {
            throw new IllegalStateException(request.method() + " " + request.uri() + " failed: " + ex, ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    public HttpResponse<java.io.InputStream> sendStream(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException ex) {
            throw new IllegalStateException(request.method() + " " + request.uri() + " failed: " + ex, ex);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    public HttpClient http() {
        return http;
    }

    /** Stops the master the way SIGTERM would, then checks that none of its workers is left. */
    @Override
    public void close() {
        List<ProcessHandle> workers = ProcessHandle.current().children().toList();
        context.close();
        assertNoChildProcess(workers);
    }

    public static void assertNoChildProcess(List<ProcessHandle> known) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).map(ProcessHandle::pid))
                    .as("child processes of the test JVM").isEmpty();
            assertThat(known.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid)).as("former workers").isEmpty();
        });
    }
}
