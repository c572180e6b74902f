package dev.shepherd.fleet;

import dev.shepherd.worker.OutOfThreads;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URL;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One health check of a worker: an HTTP GET whose status must fall in the accepted range, or, when no path is set, a TCP
 * connect. Runs on its own executor and never on the supervisor's thread; a probe that takes longer than its timeout
 * fails at the timeout, whatever the worker does, and its connection is closed then.
 *
 * <p>The GET goes through the JDK's {@link HttpURLConnection}, blocking one probe thread: a probe is one small request
 * on loopback, and the JDK's asynchronous {@code HttpClient} cost the master ~12 MB of resident memory for it (its TLS
 * context, the cacerts store and ~750 classes; measured in {@code bench/RESULTS.md}).
 */
final class Probe implements HealthProbe {

    /**
     * The outcome; {@code detail} says what went wrong when it failed. {@code inconclusive}: the master could not run
     * the probe at all (it is out of file descriptors itself), which says nothing of the worker. The kubelet's
     * "Unknown" probe result: counted neither as a failure nor as a success. {@code refused}: the connection to
     * 127.0.0.1 on the port was refused, so nothing listens there (where the worker listens instead is worth a look).
     */
    record Result(boolean ok, String detail, boolean inconclusive, boolean refused) {
        static final Result OK = new Result(true, "ok");

        Result(boolean ok, String detail) {
            this(ok, detail, false, false);
        }

        /** A probe the master could not run: out of file descriptors itself, say. */
        static Result inconclusive(String detail) {
            return new Result(false, detail, true, false);
        }
    }

    /** A health answer's body is read (so that the worker is not cut off mid-write) up to this much, then dropped. */
    private static final int MAX_BODY_BYTES = 64 * 1024;

    private final int lowestOk;
    private final int highestOk;
    private final Duration timeout;
    private final Executor executor;

    /** The readiness probe's path is the worker's generation's ({@link WorkerSpec#readinessPath()}), so it comes per check. */
    Probe(String statusRange, Duration timeout, Executor executor) {
        String[] range = statusRange.split("-");
        this.lowestOk = Integer.parseInt(range[0]);
        this.highestOk = Integer.parseInt(range[range.length - 1]);
        this.timeout = timeout;
        this.executor = executor;
    }

    @Override
    public CompletableFuture<Result> check(int port, String path) {
        // No path: a TCP connect is the whole probe.
        boolean connectOnly = path == null || path.isBlank();
        String what = connectOnly ? "TCP connect" : "GET " + path;
        Abort abort = new Abort();
        CompletableFuture<Result> probe;
        try {
            probe = CompletableFuture.supplyAsync(() -> connectOnly ? connect(port) : get(port, path, abort), executor);
        } catch (OutOfMemoryError ex) {
            // No thread to run it on: the master's limit, not the worker's failure.
            return CompletableFuture.completedFuture(outOfThreads(what, ex));
        }
        return probe.orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS).exceptionally(ex -> {
            if (ex instanceof TimeoutException) {
                abort.abort();
                return new Result(false, what + " took longer than " + timeout.toMillis() + " ms");
            }
            if (OutOfThreads.causedIt(ex)) {
                // The JDK's HTTP client starts a thread of its own (Keep-Alive-Timer): refused, it failed the probe
                // and counted against a healthy worker (found by an attacking helper).
                return outOfThreads(what, ex);
            }
            return new Result(false, what + " failed: " + describe(ex));
        });
    }

    /**
     * Ends a GET still running when its probe timed out. The read timeout counts from the last byte, so a worker
     * trickling its answer a byte at a time held the probe's thread and socket until it was killed at
     * {@code startup-timeout}: 40 threads and 45 sockets in 40 s (found by an attacking helper). Closing the
     * connection from the timeout's thread ends the blocked read at once.
     */
    private static final class Abort {
        private HttpURLConnection connection;
        private boolean aborted;

        /** False when the probe already timed out: the caller gives up. */
        synchronized boolean register(HttpURLConnection opened) {
            connection = opened;
            return !aborted;
        }

        synchronized void abort() {
            aborted = true;
            if (connection != null) {
                connection.disconnect();
            }
        }
    }

    private Result get(int port, String path, Abort abort) {
        HttpURLConnection connection = null;
        try {
            URL url = new URL("http", InetAddress.getLoopbackAddress().getHostAddress(), port, path);
            connection = (HttpURLConnection) url.openConnection(Proxy.NO_PROXY);
            if (!abort.register(connection)) {
                return new Result(false, "GET " + path + " timed out");
            }
            int millis = (int) Math.max(1, timeout.toMillis());
            connection.setConnectTimeout(millis);
            connection.setReadTimeout(millis);
            connection.setInstanceFollowRedirects(false);
            connection.setUseCaches(false);
            connection.setRequestProperty("User-Agent", "shepherd-probe");
            connection.setRequestProperty("Accept", "*/*");
            // A connection of its own each time, closed after it, as the kubelet's probes: one kept for reuse
            // outlived its worker in CLOSE-WAIT for as long as the worker's Keep-Alive said. The JDK keeps a
            // connection whose body stream was closed, and closes one whose stream is still open at disconnect().
            connection.setRequestProperty("Connection", "close");
            int status = connection.getResponseCode();
            drain(status >= 400 ? connection.getErrorStream() : connection.getInputStream());
            return status >= lowestOk && status <= highestOk ? Result.OK
                    : new Result(false, "GET " + path + " answered " + status);
        } catch (IOException ex) {
            return failed("GET " + path + " failed: " + describe(ex), ex);
        } catch (StackOverflowError ex) {
            // The JDK's HttpURLConnection reads each 100 Continue by calling itself again: a worker answering with
            // them without end overflows the probe thread's stack (found by an attacking helper). The stack is
            // unwound by now; the worker's answer is what failed.
            return new Result(false, "GET " + path + " failed: the worker sent 1xx responses without end");
        } finally {
            if (connection != null) {
                connection.disconnect();
            }
        }
    }

    /** Reads the body up to the limit; the stream is left open, so that disconnect() closes the connection. */
    private static void drain(InputStream body) throws IOException {
        if (body == null) {
            return;
        }
        byte[] chunk = new byte[4096];
        int total = 0;
        int read;
        while (total < MAX_BODY_BYTES && (read = body.read(chunk)) >= 0) {
            total += read;
        }
    }

    private Result connect(int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), (int) timeout.toMillis());
            return Result.OK;
        } catch (IOException ex) {
            return failed("TCP connect failed: " + ex.getMessage(), ex);
        }
    }

    /** An inconclusive probe: the master could not start a thread for it, or its HTTP client could not. */
    private static Result outOfThreads(String what, Throwable ex) {
        return Result.inconclusive(what + " could not run: " + (OutOfThreads.causedIt(ex) ? OutOfThreads.LIMITS
                : String.valueOf(ex.getMessage())));
    }

    /** A failure, or an inconclusive probe when the master itself was out of file descriptors. */
    static Result failed(String detail, IOException ex) {
        if (OutOfDescriptors.causedIt(ex)) {
            return Result.inconclusive(detail + " (the master's own open-file limit, ulimit -n)");
        }
        // The JDK's ConnectException is a refused connection ("Connection refused"); a timeout is another exception.
        return new Result(false, detail, false, ex instanceof ConnectException);
    }

    /**
     * What went wrong, in the words {@code /fleet}, the events and the CLI show: the JDK's own message ("Connection
     * refused", "Connection reset", "Unexpected end of file from server"), never the exception's class, which tells
     * an operator nothing more (the proxy words its failures the same way).
     */
    private String describe(Throwable ex) {
        Throwable cause = ex.getCause() != null ? ex.getCause() : ex;
        if (cause instanceof SocketTimeoutException) {
            return "took longer than " + timeout.toMillis() + " ms";
        }
        String message = cause.getMessage();
        return message == null || message.isBlank() ? "connection failed" : message;
    }
}
