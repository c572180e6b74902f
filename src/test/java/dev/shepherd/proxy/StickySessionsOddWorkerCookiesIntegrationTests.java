package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.ScriptedWorker;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code fleet.proxy.sticky.app-cookie} against a worker whose {@code Set-Cookie} lines no cookie parser accepts
 * ({@link ScriptedWorker}'s {@code /odd-cookies}): the response still reaches the client as the worker sent it, and
 * the session cookies among them that have a value are learned (a quoted one as its client sends it back).
 */
class StickySessionsOddWorkerCookiesIntegrationTests {

    @Test
    void setCookieLinesWithoutAUsableNameAreIgnoredAndTheResponseGoesThrough() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(ScriptedWorker.class)),
                "--fleet.proxy.sticky.app-cookie=JSESSIONID")) {
            String response = RawHttp.exchange(shepherd.proxyPort(),
                    "GET /odd-cookies HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");

            assertThat(RawHttp.status(response)).isEqualTo(200);
            assertThat(response).contains("\r\nSet-Cookie: =y\r\n").contains("\r\nSet-Cookie: JSESSIONID=kept\r\n")
                    .endsWith("\r\n\r\nok");
            String quoted = RawHttp.exchange(shepherd.proxyPort(),
                    "GET /hello HTTP/1.1\r\nHost: a\r\nCookie: JSESSIONID=\"quoted\"\r\nConnection: close\r\n\r\n");
            assertThat(RawHttp.status(quoted)).isEqualTo(200);
            String again = RawHttp.exchange(shepherd.proxyPort(),
                    "GET /hello HTTP/1.1\r\nHost: a\r\nCookie: JSESSIONID=kept\r\nConnection: close\r\n\r\n");
            assertThat(RawHttp.status(again)).isEqualTo(200);
            MeterRegistry registry = shepherd.context().getBean(MeterRegistry.class);
            assertThat(registry.counter("shepherd.proxy.sticky", "result", "hit").count())
                    .as("the last value set is learned, the one a browser keeps: \"quoted\" is not").isEqualTo(1);
            assertThat(registry.counter("shepherd.proxy.sticky", "result", "new").count())
                    .as("the first request, and the one with the value the response overwrote").isEqualTo(2);
        }
    }
}
