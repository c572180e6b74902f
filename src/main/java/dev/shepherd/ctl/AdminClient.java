package dev.shepherd.ctl;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * The admin API over the JDK's {@link HttpURLConnection}: every failure becomes a {@link CtlException} of one line
 * that says what to do. Bounds: 3 s to connect, 15 s of silence while an answer comes (streams have no answer
 * deadline), an answer of at most {@value #MAX_ANSWER_BYTES} bytes, and an error body quoted to at most 200 characters.
 *
 * <p>Not {@code java.net.http.HttpClient}: a command is one short JVM, and that client's start (its selector thread,
 * the TLS context) and the JVM's exit, which waits up to 300 ms for that thread to leave native code, made a
 * {@code shepherd ls} a third slower (bench/ctl-startup.sh: a median of 1.16 s before, 0.84 s after, on 2 busy cores).
 */
class AdminClient {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(15);
    private static final int QUOTE_LIMIT = 200;
    /** Far above the /fleet of the largest fleet fleet.max-workers allows. */
    static final int MAX_ANSWER_BYTES = 16 * 1024 * 1024;

    private final AdminTarget target;

    AdminClient(AdminTarget target) {
        this.target = target;
    }

    /**
     * The body of {@code GET path} as the API sent it (for {@code --json}), once it is known to be JSON: from a port
     * that is not the admin API's (the proxy's, a worker's answer), {@code ls --json} printed HTML and exited 0 (found
     * by a new user).
     */
    String getText(String path) {
        String body = exchange("GET", path, "application/json", null, 0);
        parse(body);
        return body;
    }

    JsonNode get(String path) {
        return parse(exchange("GET", path, "application/json", null, 0));
    }

    /** {@code GET /actuator/health}, whose status is 503 while the fleet is DOWN: that is an answer, not an error. */
    JsonNode health() {
        return parse(exchange("GET", "/actuator/health", "application/json", null, 503));
    }

    /** {@code POST path} with a JSON body, or none when {@code json} is null. */
    JsonNode post(String path, String json) {
        return parse(exchange("POST", path, "application/json", json == null ? "" : json, 0));
    }

    /** The lines of a server-sent event stream, open until the master ends it or the caller closes the stream. */
    /**
     * How long an event stream may stay silent: three of the master's heartbeats (a comment every 15 s on an idle
     * stream). A frozen master (stopped, swapping) held a waiting {@code reload} with no bound (found by a new user).
     */
    static final Duration STREAM_SILENCE = Duration.ofSeconds(45);

    Stream<String> eventLines(String path) {
        HttpURLConnection connection = open("GET", path, "text/event-stream", STREAM_SILENCE);
        try {
            int status = connection.getResponseCode();
            if (status >= 300) {
                throw refusal(status, read(connection.getErrorStream()));
            }
            // An event is one line far below this; a longer one is not the master's, and is cut rather than held
            // whole. Closing must not wait for a read under way in another thread (top's quit while the stream is
            // silent): the JDK's chunked stream closes under the lock its reader holds, so it is closed aside.
            BufferedReader reader = new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.UTF_8));
            return BoundedLines.of(reader, EventStream.DATA_LIMIT + 16).onClose(() -> {
                Thread closer = new Thread(connection::disconnect, "shepherd-ctl-stream-close");
                closer.setDaemon(true);
                closer.start();
            });
        } catch (IOException ex) {
            connection.disconnect();
            throw failure(ex);
        }
    }

    URI url() {
        return target.url();
    }

    private String exchange(String method, String path, String accept, String body, int alsoFine) {
        HttpURLConnection connection = open(method, path, accept, ANSWER_TIMEOUT);
        try {
            // No body at all where there is none: with one, even empty, the JDK would add a form Content-Type.
            if (body != null && !body.isEmpty()) {
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                connection.setDoOutput(true);
                connection.setRequestProperty("Content-Type", "application/json");
                connection.setFixedLengthStreamingMode(bytes.length);
                try (OutputStream out = connection.getOutputStream()) {
                    out.write(bytes);
                }
            }
            int status = connection.getResponseCode();
            if (status >= 300 && status != alsoFine) {
                throw refusal(status, read(connection.getErrorStream()));
            }
            return read(status >= 400 ? connection.getErrorStream() : connection.getInputStream());
        } catch (IOException ex) {
            throw failure(ex);
        } finally {
            connection.disconnect();
        }
    }

    private HttpURLConnection open(String method, String path, String accept, Duration answerTimeout) {
        try {
            URL url = URI.create(target.url() + path).toURL();
            HttpURLConnection connection = (HttpURLConnection) url.openConnection();
            connection.setRequestMethod(method);
            connection.setInstanceFollowRedirects(false);
            connection.setUseCaches(false);
            connection.setConnectTimeout((int) CONNECT_TIMEOUT.toMillis());
            connection.setReadTimeout((int) answerTimeout.toMillis());
            connection.setRequestProperty("Accept", accept);
            connection.setRequestProperty("User-Agent", "shepherd-ctl");
            if (target.token() != null) {
                connection.setRequestProperty("Authorization", "Bearer " + target.token());
            }
            return connection;
        } catch (IOException | IllegalArgumentException ex) {
            throw new CtlException("cannot use the admin URL " + target.url() + ": " + ex.getMessage()
                    + "; set --admin or " + AdminTarget.URL_VARIABLE);
        }
    }

    private CtlException failure(IOException ex) {
        if (ex instanceof SocketTimeoutException && !String.valueOf(ex.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("connect")) {
            return new CtlException("the admin API at " + target.url() + " did not answer within "
                    + ANSWER_TIMEOUT.toSeconds() + " s: is the master overloaded or stopping?", Ctl.UNREACHABLE);
        }
        if (ex instanceof SSLException) {
            return tlsFailure((SSLException) ex);
        }
        return new CtlException("cannot reach the admin API at " + target.url()
                + ": is the master running? set --admin or " + AdminTarget.URL_VARIABLE, Ctl.UNREACHABLE);
    }

    /**
     * A TLS failure said as what to do: the master was reached, so "is it running?" would mislead (found by an
     * attacking helper: {@code https://} to a plain admin port).
     */
    private CtlException tlsFailure(SSLException ex) {
        for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
            if (cause instanceof CertificateException) {
                return new CtlException("the admin API at " + target.url() + " has a certificate this client does "
                        + "not trust (" + cause.getMessage() + "): give its trust store with SHEPHERD_CTL_JAVA_OPTS="
                        + "\"-Djavax.net.ssl.trustStore=FILE\"");
            }
        }
        if (ex instanceof SSLHandshakeException) {
            return new CtlException("the TLS handshake with the admin API at " + target.url() + " failed: "
                    + ex.getMessage());
        }
        // The JDK's "Unsupported or unrecognized SSL message": the answer was not TLS.
        return new CtlException("the admin port at " + target.url() + " does not answer TLS (" + ex.getMessage()
                + "): if it is Shepherd's admin port without TLS, set --admin or " + AdminTarget.URL_VARIABLE
                + " to http://" + target.url().getAuthority());
    }

    /** The whole body, at most {@link #MAX_ANSWER_BYTES} bytes; an absent one (no error body) is empty. */
    private String read(InputStream in) throws IOException {
        if (in == null) {
            return "";
        }
        try (in) {
            byte[] bytes = in.readNBytes(MAX_ANSWER_BYTES + 1);
            if (bytes.length > MAX_ANSWER_BYTES) {
                throw new CtlException("the admin API at " + target.url() + " answered more than " + MAX_ANSWER_BYTES / 1024 / 1024
                        + " MiB: is " + target.url() + " Shepherd's admin port?");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    CtlException refusal(int status, String body) {
        if (status == 401) {
            return target.token() == null ? new TokenWanted("the admin API wants a token: " + HOW_TO_GIVE_THE_TOKEN)
                    : new CtlException("the admin API refused the token: " + HOW_TO_GIVE_THE_TOKEN);
        }
        String problem = problem(body);
        if (status == 403 && problem != null && problem.contains(NO_TOKEN_REFUSAL)) {
            // The master has no token: none given here helps (an attacking helper's --token got the same 403).
            return new CtlException("the admin API refused the request (" + problem + "): run this command as the "
                    + "master's user, or set fleet.admin.token on the master and give it here (" + HOW_TO_GIVE_THE_TOKEN
                    .replaceFirst("^set ", "") + ")");
        }
        if (status == 403) {
            return new CtlException("the admin API refused the request" + (problem == null ? "" : " (" + problem + ")")
                    + ": set --token, " + AdminTarget.TOKEN_VARIABLE + " or " + AdminTarget.TOKEN_FILE_VARIABLE
                    + ", or use a host name the master allows (fleet.admin.allowed-hosts)");
        }
        // A gateway's 502, 503 or 504 in front of the admin port (no problem of Shepherd's): the master is not
        // reached, as when the connection fails (found by a new user: exit 1, as for a refusal).
        boolean gateway = problem == null && (status == 502 || status == 503 || status == 504);
        return new CtlException(problem != null ? problem
                : "the admin API at " + target.url() + " answered " + status + ": " + quote(body),
                gateway ? Ctl.UNREACHABLE : Ctl.FAILED);
    }

    /** How the master's 403 to another user's process begins, when it has no token ({@code AdminSecurity}). */
    static final String NO_TOKEN_REFUSAL = "This admin port has no token, so it answers only ";

    /** What to do for a token the admin API wants. */
    static final String HOW_TO_GIVE_THE_TOKEN = "set --token, " + AdminTarget.TOKEN_VARIABLE + " or "
            + AdminTarget.TOKEN_FILE_VARIABLE;

    /**
     * A 401 to a request sent without a token: what the public part of the API (the health) can still answer, where
     * a wrong token is an error whatever was asked.
     */
    static final class TokenWanted extends CtlException {
        TokenWanted(String message) {
            super(message);
        }
    }

    /** "title: detail" of an RFC 9457 problem body, or null when the body is not one. */
    static String problem(String body) {
        try {
            JsonNode node = Json.MAPPER.readTree(body);
            String title = node.path("title").asString(null);
            String detail = node.path("detail").asString(null);
            if (title == null && detail == null) {
                return null;
            }
            return title == null ? detail : detail == null ? title : title + ": " + detail;
        } catch (JacksonException | IllegalArgumentException ex) {
            return null;
        }
    }

    private static String quote(String body) {
        String line = body.replaceAll("\\s+", " ").strip();
        return line.length() > QUOTE_LIMIT ? line.substring(0, QUOTE_LIMIT) + "…" : line;
    }

    private JsonNode parse(String body) {
        try {
            return Json.MAPPER.readTree(body);
        } catch (JacksonException ex) {
            throw new CtlException("the admin API at " + target.url() + " sent something that is not JSON: is "
                    + target.url() + " Shepherd's admin port? " + quote(body));
        }
    }
}
