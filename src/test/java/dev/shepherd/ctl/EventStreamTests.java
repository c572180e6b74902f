package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading the master's server-sent events from lines, without a master. */
class EventStreamTests {

    private static final AdminClient CLIENT = new AdminClient(AdminTarget.resolve(null, null, Map.of()));

    @Test
    void dataLinesBecomeEventsAndCommentsAndOtherFieldsAreSkipped() {
        EventStream stream = new EventStream(CLIENT, Stream.of(":connected", "", "id:7", "event:fleet",
                "data:{\"seq\":7,\"type\":\"READY\",\"workerId\":2,\"pid\":4242,\"message\":\"ready in 310 ms\"}", "",
                ":ping", "", "data:not json", "", "data: {\"seq\":8,", "data: \"type\":\"EXITED\"}", ""));
        List<JsonNode> events = new ArrayList<>();

        boolean stoppedByHandler = stream.forEach(events::add);

        assertThat(stoppedByHandler).as("the stream ended").isFalse();
        assertThat(events).extracting(event -> event.path("type").asString()).containsExactly("READY", "EXITED");
        assertThat(events.get(1).path("seq").asInt()).isEqualTo(8);
    }

    /** A master that went silent or away while a command waited on it: exit 5, as when it cannot be reached. */
    @Test
    void aStreamThatGoesSilentOrBreaksOffIsTheMasterUnreachable() {
        java.util.function.Function<java.io.IOException, Stream<String>> failing = cause -> Stream.iterate("",
                line -> {
                    throw new java.io.UncheckedIOException(cause);
                }).skip(0).limit(2);
        EventStream silent = new EventStream(CLIENT, failing.apply(new java.net.SocketTimeoutException("Read timed out")));
        EventStream broken = new EventStream(CLIENT, failing.apply(new java.io.IOException("Premature EOF")));

        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(CtlException.class, () -> silent.forEach(e -> true)))
                .satisfies(ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.UNREACHABLE))
                .hasMessageContaining("was silent for 45 s, though the master sends a heartbeat every 15 s");
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(CtlException.class, () -> broken.forEach(e -> true)))
                .satisfies(ex -> assertThat(ex.exitCode()).isEqualTo(Ctl.UNREACHABLE))
                .hasMessageContaining("broke off: is the master still running?");
    }

    @Test
    void handlerThatReturnsFalseStopsReading() {
        EventStream stream = new EventStream(CLIENT, Stream.of("data:{\"seq\":1}", "", "data:{\"seq\":2}", ""));
        List<JsonNode> events = new ArrayList<>();

        boolean stoppedByHandler = stream.forEach(event -> !events.add(event));

        assertThat(stoppedByHandler).isTrue();
        assertThat(events).hasSize(1);
    }

    @Test
    void dataBeyondTheLimitIsDropped() {
        String big = "data:\"" + "x".repeat(EventStream.DATA_LIMIT) + "\"";
        EventStream stream = new EventStream(CLIENT, Stream.of(big, "", "data:{\"seq\":3}", ""));
        List<JsonNode> events = new ArrayList<>();

        stream.forEach(events::add);

        assertThat(events).extracting(event -> event.path("seq").asInt()).containsExactly(3);
    }

    @Test
    void eventIsOneLineWithTypeWorkerPidAndMessage() {
        JsonNode event = Json.MAPPER.readTree("{\"seq\":5,\"at\":\"2026-11-30T20:00:00.123456789Z\",\"type\":\"EXITED\",\"workerId\":3,"
                + "\"pid\":77,\"message\":\"exit code 137\"}");

        assertThat(EventStream.describe(event)).isEqualTo("2026-11-30T20:00:00.123Z  EXITED            worker 3  pid 77  exit code 137");
    }
}
