package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * The fleet's events as they happen, read from {@code GET /fleet/events} as server-sent events (the WHATWG HTML
 * "server-sent events" format, of which the master writes one {@code data:} line per event, and comments as
 * heartbeats). Opening it subscribes: every event recorded after {@link #open} returns is delivered.
 */
final class EventStream implements AutoCloseable {

    /** A data field longer than this is not one of the master's events, and is skipped. */
    static final int DATA_LIMIT = 64 * 1024;

    private final AdminClient client;
    private final Stream<String> lines;

    EventStream(AdminClient client, Stream<String> lines) {
        this.client = client;
        this.lines = lines;
    }

    static EventStream open(AdminClient client) {
        return new EventStream(client, client.eventLines("/fleet/events"));
    }

    /**
     * Hands each event to {@code handler} on the calling thread until it returns false (then true is returned) or
     * the master ends the stream (then false).
     */
    boolean forEach(Predicate<JsonNode> handler) {
        StringBuilder data = new StringBuilder();
        try {
            Iterator<String> iterator = lines.iterator();
            while (iterator.hasNext()) {
                String line = iterator.next();
                if (line.isEmpty()) {
                    JsonNode event = parse(data);
                    data.setLength(0);
                    if (event != null && !handler.test(event)) {
                        return true;
                    }
                } else if (line.startsWith("data:") && data.length() + line.length() <= DATA_LIMIT) {
                    data.append(data.isEmpty() ? "" : "\n").append(line.substring(line.startsWith("data: ") ? 6 : 5));
                }
            }
            return false;
        } catch (UncheckedIOException ex) {
            // The master went away, or went silent: exit 5, as when it cannot be reached, so that a deploy script
            // does not take it for a refusal (found by a new user).
            if (ex.getCause() instanceof java.net.SocketTimeoutException) {
                throw new CtlException("the event stream of " + client.url() + " was silent for "
                        + AdminClient.STREAM_SILENCE.toSeconds() + " s, though the master sends a heartbeat every 15 s: "
                        + "is it stopped or overloaded? (shepherd status tells how it is)", Ctl.UNREACHABLE);
            }
            throw new CtlException("the event stream of " + client.url() + " broke off: is the master still running?",
                    Ctl.UNREACHABLE);
        }
    }

    private static JsonNode parse(CharSequence data) {
        if (data.isEmpty()) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(data.toString());
        } catch (JacksonException ex) {
            return null;
        }
    }

    /** One line: time, type, worker and pid where there are, and the message. */
    static String describe(JsonNode event) {
        StringBuilder line = new StringBuilder(millis(event.path("at").asString(""))).append("  ")
                .append(String.format("%-16s", TerminalText.safe(event.path("type").asString("?"))));
        if (event.path("workerId").asInt() > 0) {
            line.append("  worker ").append(event.path("workerId").asInt());
        }
        if (event.path("pid").asLong() > 0) {
            line.append("  pid ").append(event.path("pid").asLong());
        }
        String message = TerminalText.safe(event.path("message").asString(""));
        return (message.isEmpty() ? line : line.append("  ").append(message)).toString();
    }

    private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSX")
            .withZone(ZoneOffset.UTC);

    /** An ISO-8601 instant to the millisecond, as it is when it is not one (then shown in caret notation by callers). */
    static String millis(String at) {
        try {
            // Always three digits: Instant's own form drops ".000", and a column of times went ragged.
            return MILLIS.format(Instant.parse(at));
        } catch (DateTimeParseException ex) {
            return at;
        }
    }

    @Override
    public void close() {
        lines.close();
    }
}
