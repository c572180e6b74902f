package dev.shepherd.testsupport;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.awaitility.Awaitility.await;

/**
 * A Node fixture of {@code src/test/js} run as a process of the test: a worker on a port of its own, or a client
 * driver that takes commands on stdin and reports JSON lines on stdout (see each script's header). Every stdout
 * line that is JSON is kept as an event, with the time it arrived here; the rest of the output is kept (its last
 * 50 lines) for failure messages. {@link #close()} ends the process and its children, by pid.
 */
public final class NodeProcess implements AutoCloseable {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int KEPT_LINES = 50;

    /** One JSON line of the script, and when this JVM read it (epoch milliseconds). */
    public record Event(JsonNode json, long receivedAt) {

        public String type() {
            return json.path("event").asString();
        }

        /** When the script wrote it, by its clock (epoch milliseconds). */
        public long at() {
            return json.path("at").asLong();
        }

        public long number(String field) {
            return json.path(field).asLong();
        }

        public String text(String field) {
            return json.path(field).asString();
        }
    }

    private final Process process;
    private final String name;
    private final int port;
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final Deque<String> output = new ArrayDeque<>();
    private final OutputStream stdin;
    private int commands;

    private NodeProcess(Process process, String name, int port) {
        this.process = process;
        this.name = name;
        this.port = port;
        this.stdin = process.getOutputStream();
        pump(process.getInputStream(), true);
        pump(process.getErrorStream(), false);
    }

    /** Runs {@code node src/test/js/SCRIPT ARGS} with the npm packages on its NODE_PATH and {@code environment}. */
    public static NodeProcess start(String script, Map<String, String> environment, String... args) {
        return start(script, 0, environment, args);
    }

    /** Runs a worker script on a free loopback port ({@code PORT}) and waits until it answers GET /health with 200. */
    public static NodeProcess startWorker(String script, Map<String, String> environment) {
        return startWorker(script, FreePorts.unassigned(), environment);
    }

    /** Runs a worker script on {@code port} and waits until it answers GET /health with 200. */
    public static NodeProcess startWorker(String script, int port, Map<String, String> environment) {
        NodeProcess worker = start(script, port, environment);
        try {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpRequest health = HttpRequest.newBuilder(worker.uri("/health")).timeout(Duration.ofSeconds(2)).build();
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                if (!worker.process.isAlive()) {
                    throw new AssertionError(script + " exited: " + worker.output());
                }
                return http.send(health, HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            });
        } catch (RuntimeException | Error ex) {
            worker.close();
            throw ex;
        }
        return worker;
    }

    private static NodeProcess start(String script, int port, Map<String, String> environment, String... args) {
        List<String> command = new ArrayList<>(List.of("node", NodeModules.script(script)));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("NODE_PATH", NodeModules.MODULES.toString());
        if (port > 0) {
            builder.environment().put("PORT", Integer.toString(port));
        }
        builder.environment().putAll(environment);
        try {
            return new NodeProcess(builder.start(), script, port);
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private void pump(InputStream stream, boolean stdout) {
        Thread pump = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    long now = System.currentTimeMillis();
                    JsonNode json = stdout && line.startsWith("{") ? parse(line) : null;
                    if (json != null) {
                        events.add(new Event(json, now));
                    } else {
                        keep(line);
                    }
                }
            } catch (IOException ex) {
                keep("(output ended: " + ex + ")");
            }
        }, name + (stdout ? "-stdout" : "-stderr"));
        pump.setDaemon(true);
        pump.start();
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (JacksonException ex) {
            return null;
        }
    }

    private synchronized void keep(String line) {
        output.addLast(line);
        if (output.size() > KEPT_LINES) {
            output.removeFirst();
        }
    }

    /** The last lines the script wrote that were not events (stderr included), for failure messages. */
    public synchronized String output() {
        return name + " (pid " + process.pid() + (process.isAlive() ? "" : ", exited " + process.exitValue())
                + ") wrote: " + String.join("\n", output);
    }

    public long pid() {
        return process.pid();
    }

    public int port() {
        return port;
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** Every event so far. */
    public List<Event> events() {
        return List.copyOf(events);
    }

    /** The events of one type so far, in the order they came. */
    public List<Event> events(String type) {
        return events.stream().filter(event -> event.type().equals(type)).toList();
    }

    /** The events of one type so far that match {@code filter}. */
    public List<Event> events(String type, Predicate<Event> filter) {
        return events(type).stream().filter(filter).toList();
    }

    /** Sends one command line and returns at once. */
    public synchronized void send(String command) {
        try {
            stdin.write((command + "\n").getBytes(StandardCharsets.UTF_8));
            stdin.flush();
            commands++;
        } catch (IOException ex) {
            throw new UncheckedIOException(name + " does not take commands any more: " + output(), ex);
        }
    }

    /**
     * Sends one command line and waits (at most {@code timeout}) for its "done" event, which it returns: commands
     * run one after the other, so the n-th "done" answers the n-th command.
     */
    public Event command(String command, Duration timeout) {
        send(command);
        int number;
        synchronized (this) {
            number = commands;
        }
        await().atMost(timeout).until(() -> events("done").size() >= number || !process.isAlive());
        List<Event> done = events("done");
        if (done.size() < number) {
            throw new AssertionError("'" + command + "' got no answer: " + output());
        }
        return done.get(number - 1);
    }

    /** {@code kill -9} of the process, as a crash. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** SIGTERM, as a planned stop; returns at once. */
    public void terminate() {
        process.destroy();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Ends the process: end of stdin first (a driver closes its connections), then KILL of what is left. */
    @Override
    public void close() {
        List<ProcessHandle> tree = process.descendants().toList();
        try {
            stdin.close();
        } catch (IOException ex) {
            // The process is gone already.
        }
        try {
            if (!process.waitFor(port > 0 ? 0 : 5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        tree.forEach(ProcessHandle::destroyForcibly);
    }
}
