package dev.shepherd.ctl;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The admin API over the JDK's {@link HttpClient}: every failure becomes a {@link CtlException} of one line that
 * says what to do. Bounds: 3 s to connect, 15 s for an answer (streams have no answer deadline), an answer of at
 * most {@value #MAX_ANSWER_BYTES} bytes (a worker's logs, 256 KiB by default ({@code fleet.worker.log-bytes}), are far less;
 * anything bigger is not the admin API and is not read into memory), and an error body quoted to at most 200
 * characters.
 */
class AdminClient {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(15);
    private static final int QUOTE_LIMIT = 200;
    static final int MAX_ANSWER_BYTES = 16 * 1024 * 1024;
    /** An error answer is read up to this many bytes: a problem body is far smaller. */
    private static final int ERROR_BODY_BYTES = 64 * 1024;

    private final AdminTarget target;
    private final HttpClient http;

    AdminClient(AdminTarget target) {
        this.target = target;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).followRedirects(HttpClient.Redirect.NEVER);
        if ("http".equals(target.url().getScheme())) {
            // Plain HTTP needs no TLS: an uninitialised context spares loading the trust store, half of a start.
            builder.sslContext(plainOnly()).sslParameters(new SSLParameters());
        }
        this.http = builder.build();
    }

    private static SSLContext plainOnly() {
        try {
            return SSLContext.getInstance("TLS");
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    /** The body of {@code GET path} as the API sent it (for {@code --json}). */
    String getText(String path) {
        return text(request(path).header("Accept", "application/json").timeout(ANSWER_TIMEOUT).GET().build(), 0);
    }

    JsonNode get(String path) {
        return parse(getText(path));
    }

    /** {@code GET /actuator/health}, whose status is 503 while the fleet is DOWN: that is an answer, not an error. */
    JsonNode health() {
        HttpRequest request = request("/actuator/health").timeout(ANSWER_TIMEOUT).GET().build();
        return parse(text(request, 503));
    }

    /** {@code POST path} with a JSON body, or none when {@code json} is null. */
    JsonNode post(String path, String json) {
        HttpRequest.Builder builder = request(path).timeout(ANSWER_TIMEOUT);
        if (json == null) {
            builder.POST(HttpRequest.BodyPublishers.noBody());
        } else {
            builder.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        }
        return parse(text(builder.build(), 0));
    }

    /** The lines of a server-sent event stream, open until the master ends it or the caller closes the stream. */
    Stream<String> eventLines(String path) {
        HttpRequest request = request(path).header("Accept", "text/event-stream").GET().build();
        InputStream body = send(request, HttpResponse.BodyHandlers.ofInputStream()).body();
        // An event is one line far below this; a longer one is not the master's, and is cut rather than held whole.
        // Closing the body itself ends a read under way in another thread (top's quit); closing the reader would wait.
        return BoundedLines.of(new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8)),
                EventStream.DATA_LIMIT + 16).onClose(() -> {
                    try {
                        body.close();
                    } catch (IOException ex) {
                        // closed already, or broken: either way it is over
                    }
                });
    }

    URI url() {
        return target.url();
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(target.url() + path));
        if (target.token() != null) {
            builder.header("Authorization", "Bearer " + target.token());
        }
        return builder;
    }

    /** The answer's body as text, read up to {@link #MAX_ANSWER_BYTES}. */
    private String text(HttpRequest request, int alsoFine) {
        try (InputStream in = send(request, HttpResponse.BodyHandlers.ofInputStream(), alsoFine).body()) {
            byte[] body = in.readNBytes(MAX_ANSWER_BYTES + 1);
            if (body.length > MAX_ANSWER_BYTES) {
                throw new CtlException("the admin API at " + target.url() + " answered more than "
                        + MAX_ANSWER_BYTES / 1024 / 1024 + " MiB: is " + target.url() + " Shepherd's admin port?");
            }
            return new String(body, StandardCharsets.UTF_8);
        } catch (IOException ex) {
            throw new CtlException("the admin API at " + target.url() + " broke off its answer: is the master still running?");
        }
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        return send(request, handler, 0);
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, int alsoFine) {
        HttpResponse<T> response;
        try {
            response = http.send(request, handler);
        } catch (HttpTimeoutException ex) {
            throw new CtlException("the admin API at " + target.url() + " did not answer within "
                    + ANSWER_TIMEOUT.toSeconds() + " s: is the master overloaded or stopping?");
        } catch (IOException ex) {
            throw new CtlException("cannot reach the admin API at " + target.url()
                    + ": is the master running? set --admin or " + AdminTarget.URL_VARIABLE);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new CtlException("interrupted");
        }
        if (response.statusCode() >= 300 && response.statusCode() != alsoFine) {
            throw refusal(response.statusCode(), bodyText(response.body()));
        }
        return response;
    }

    CtlException refusal(int status, String body) {
        if (status == 401) {
            return new CtlException(target.token() == null
                    ? "the admin API wants a token: set --token, " + AdminTarget.TOKEN_VARIABLE + " or " + AdminTarget.TOKEN_FILE_VARIABLE
                    : "the admin API refused the token: set --token, " + AdminTarget.TOKEN_VARIABLE + " or "
                    + AdminTarget.TOKEN_FILE_VARIABLE);
        }
        String problem = problem(body);
        if (status == 403) {
            return new CtlException("the admin API refused the request" + (problem == null ? "" : " (" + problem + ")")
                    + ": set --token, " + AdminTarget.TOKEN_VARIABLE + " or " + AdminTarget.TOKEN_FILE_VARIABLE
                    + ", or use a host name the master allows (fleet.admin.allowed-hosts)");
        }
        return new CtlException(problem != null ? problem
                : "the admin API at " + target.url() + " answered " + status + ": " + quote(body));
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

    private static String bodyText(Object body) {
        if (body instanceof InputStream in) {
            try (in) {
                return new String(in.readNBytes(ERROR_BODY_BYTES), StandardCharsets.UTF_8);
            } catch (IOException ex) {
                return "";
            }
        }
        if (body instanceof Stream<?> lines) {
            try (lines) {
                return lines.limit(20).map(String::valueOf).collect(Collectors.joining("\n"));
            }
        }
        return body == null ? "" : body.toString();
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
