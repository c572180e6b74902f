package dev.shepherd.fleet;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * One health check of a worker: an HTTP GET whose status must fall in the accepted range, or, when no path is set, a TCP
 * connect. Runs on its own executor and never on the supervisor's thread.
 */
final class Probe {

    /** The outcome; {@code detail} says what went wrong when it failed. */
    record Result(boolean ok, String detail) {
        static final Result OK = new Result(true, "ok");
    }

    private final String path;
    private final int lowestOk;
    private final int highestOk;
    private final Duration timeout;
    private final HttpClient client;
    private final Executor executor;

    Probe(String path, String statusRange, Duration timeout, HttpClient client, Executor executor) {
        this.path = path;
        String[] range = statusRange.split("-");
        this.lowestOk = Integer.parseInt(range[0]);
        this.highestOk = Integer.parseInt(range[1]);
        this.timeout = timeout;
        this.client = client;
        this.executor = executor;
    }

    CompletableFuture<Result> check(int port) {
        return path == null || path.isBlank() ? connect(port) : get(port);
    }

    private CompletableFuture<Result> get(int port) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(timeout).GET().build();
        return client.sendAsync(request, HttpResponse.BodyHandlers.discarding())
                .thenApply(response -> response.statusCode() >= lowestOk && response.statusCode() <= highestOk
                        ? Result.OK
                        : new Result(false, "GET " + path + " answered " + response.statusCode()))
                .exceptionally(ex -> new Result(false, "GET " + path + " failed: " + describe(ex)));
    }

    private CompletableFuture<Result> connect(int port) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) timeout.toMillis());
                return Result.OK;
            } catch (IOException ex) {
                return new Result(false, "TCP connect failed: " + ex.getMessage());
            }
        }, executor);
    }

    private static String describe(Throwable ex) {
        Throwable cause = ex.getCause() != null ? ex.getCause() : ex;
        String message = cause.getMessage();
        return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
