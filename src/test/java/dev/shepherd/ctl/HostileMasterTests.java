package dev.shepherd.ctl;

import dev.shepherd.TerminalText;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The command line against a fake admin API whose workers wrote terminal escape sequences (clear the screen, set
 * the clipboard with OSC 52, an 8-bit CSI): what the ctl prints for people carries none of them raw.
 */
class HostileMasterTests {

    /** Clear screen, home, OSC 52 (set the clipboard) ended by BEL, a carriage return, and a C1 CSI. */
    private static final String EVIL = "\\u001b[2J\\u001b[H\\u001b]52;c;cm0gLXJmIH4=\\u0007\\rok\\u009b31m";

    private HttpServer server;
    private Map<String, String> env;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String exit = "{\"pid\":7,\"code\":1,\"signal\":null,\"reason\":\"exited " + EVIL + "\",\"lastLines\":[\"" + EVIL + "\"]}";
        String reload = "{\"state\":\"FAILED\",\"generation\":2,\"total\":1,\"replaced\":0,\"reason\":\"" + EVIL + "\","
                + "\"problem\":{\"title\":\"Reload failed\",\"lastLines\":[\"" + EVIL + "\"]}}";
        String fleet = "{\"desired\":1,\"ready\":1,\"actual\":1,\"reload\":" + reload + ",\"workers\":[{\"id\":1,"
                + "\"index\":0,\"pid\":9,\"state\":\"READY\",\"restarts\":1,\"lastExit\":" + exit + "}]}";
        String event = "{\"seq\":1,\"at\":\"" + Instant.now() + "\",\"type\":\"PROCESS_EXITED\",\"workerId\":1,\"message\":\"" + EVIL + "\"}";
        server.createContext("/fleet", exchange -> CtlTests.answer(exchange, 200, fleet));
        server.createContext("/fleet/reload", exchange -> CtlTests.answer(exchange, 200, reload));
        server.createContext("/fleet/events", exchange -> CtlTests.answer(exchange, 200, "[" + event + "]"));
        server.createContext("/fleet/workers/1/logs", exchange ->
                CtlTests.answer(exchange, 200, "[{\"pid\":9,\"at\":\"" + Instant.now() + "\",\"line\":\"" + EVIL + "\"}]"));
        server.createContext("/fleet/scale", exchange -> CtlTests.answer(exchange, 400,
                "{\"title\":\"Invalid request\",\"detail\":\"" + EVIL + "\"}"));
        server.createContext("/actuator/health", exchange -> CtlTests.answer(exchange, 200, "{\"status\":\"UP\",\"components\":"
                + "{\"fleet\":{\"details\":{\"lastCrash\":{\"reason\":\"" + EVIL + "\"}}}}}"));
        server.start();
        env = Map.of("SHEPHERD_ADMIN_URL", "http://127.0.0.1:" + server.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private static void assertNoRawControl(CtlTests.Result result) {
        assertThat(result.out() + result.err()).doesNotContain("\u001b", "\u0007", "\r", "\u009b");
    }

    @Test
    void logsShowAWorkersEscapeSequencesInCaretNotation() {
        CtlTests.Result result = CtlTests.run(env, "logs", "1");

        assertThat(result.code()).as(result.err()).isZero();
        assertThat(result.out()).isEqualTo("^[[2J^[[H^[]52;c;cm0gLXJmIH4=^G^Mok\\u009B31m\n");
    }

    @Test
    void logsOfEveryWorkerEventsLsStatusAndTopPrintNoRawControlCharacter() {
        for (String[] args : new String[][] {{"logs"}, {"events"}, {"ls"}, {"status"}, {"top"}}) {
            CtlTests.Result result = CtlTests.run(env, args);

            assertThat(result.code()).as(String.join(" ", args) + ": " + result.err()).isZero();
            assertThat(result.out()).as(String.join(" ", args)).contains("^[");
            assertNoRawControl(result);
        }
    }

    @Test
    void problemDetailAndRolledBackReloadPrintNoRawControlCharacter() {
        CtlTests.Result scale = CtlTests.run(env, "scale", "2");
        CtlTests.Result reload = CtlTests.run(env, "reload", "--no-wait");

        assertThat(scale.code()).isEqualTo(Ctl.FAILED);
        assertThat(scale.err()).startsWith("Invalid request: ^[[2J");
        assertNoRawControl(scale);
        assertThat(reload.code()).as("failed at once: as a waited-for reload").isEqualTo(Ctl.ROLLED_BACK);
        assertThat(reload.err()).contains("failed and was rolled back: ^[[2J");
        assertNoRawControl(reload);
    }

    @Test
    void jsonOutputStaysTheApisJson() {
        CtlTests.Result result = CtlTests.run(env, "logs", "1", "--json");

        assertThat(Json.MAPPER.readTree(result.out()).get(0).path("line").asString()).startsWith("\u001b[2J");
    }

    @Test
    void anAnswerLargerThanTheBoundIsRefusedWithoutReadingItWhole() {
        server.createContext("/huge", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, 0);
            byte[] chunk = "[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",".repeat(2048).getBytes(StandardCharsets.US_ASCII);
            try (var body = exchange.getResponseBody()) {
                for (long sent = 0; sent <= AdminClient.MAX_ANSWER_BYTES; sent += chunk.length) {
                    body.write(chunk);
                }
            } catch (IOException ex) {
                // the client stopped reading: what it should do
            }
        });
        AdminClient client = new AdminClient(AdminTarget.resolve(null, null, env));

        assertThatThrownBy(() -> client.getText("/huge")).isInstanceOf(CtlException.class)
                .hasMessage("the admin API at " + client.url() + " answered more than 16 MiB: is " + client.url()
                        + " Shepherd's admin port?");
    }

    @Test
    void tabStaysAndEveryOtherControlCharacterIsShown() {
        assertThat(TerminalText.safe("a\tb")).isEqualTo("a\tb");
        assertThat(TerminalText.safe("\u0000\u001b\u007f\u0085é")).isEqualTo("^@^[^?\\u0085é");
        assertThat(TerminalText.safe(null)).isNull();
    }

    @Test
    void bidirectionalFormattingCharactersAreShownSoALineCannotReadBackwards() {
        assertThat(TerminalText.safe("ok \u202Edlrow\u202C \u2066x\u2069 \u200F\u061C")).isEqualTo(
                "ok \\u202Edlrow\\u202C \\u2066x\\u2069 \\u200F\\u061C");
        assertThat(TerminalText.safe("שלום עולם")).as("right-to-left text itself stays").isEqualTo("שלום עולם");
        // Where log viewers, editors and JavaScript break a line: a forged line could follow (an attacking helper's).
        assertThat(TerminalText.safe("ls\u2028Worker 1 READY\u2029")).isEqualTo("ls\\u2028Worker 1 READY\\u2029");
    }
}
