package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * 1xx interim responses (RFC 9110 §15.2) reach an HTTP/1.1 client as the worker sent them and never reach an
 * HTTP/1.0 client, which cannot tell them from the final response. The worker ({@link FaultyWorker}) sends
 * {@code 100 Continue} and {@code 103 Early Hints} before its {@code 200}.
 */
class InterimResponseIntegrationTests {

    private static final String FINAL = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nconnection: close\r\n\r\nok";

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(FaultyWorker.class)));
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    @Test
    void interimResponsesReachAnHttp11ClientBeforeTheFinalOne() {
        RawClient.Received received = RawClient.exchange(shepherd.proxyPort(),
                "GET /interim HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 5_000);

        assertThat(received.bytes()).isEqualTo("HTTP/1.1 100 Continue\r\n\r\n"
                + "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + FINAL);
        assertThat(received.end()).isEqualTo(RawClient.End.FIN);
    }

    /**
     * Each is a write to the client: past 8, the worker's answer is malformed, and the client gets a 502 instead; the
     * retries' interim responses do not reach it past the first 8.
     */
    @Test
    void endlessInterimResponsesEndTheAttemptWithA502() {
        RawClient.Received received = RawClient.exchange(shepherd.proxyPort(),
                "GET /interim-storm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 15_000);

        String bytes = received.bytes();
        assertThat(bytes.split("HTTP/1.1 103 ", -1).length - 1)
                .as("interim responses passed on, over all the attempts (each retry's were passed on too)")
                .isEqualTo(8);
        assertThat(bytes).contains("HTTP/1.1 502 ").contains("more than 8 interim (1xx) responses");
    }

    @Test
    void interimResponsesNeverReachAnHttp10Client() {
        RawClient.Received received = RawClient.exchange(shepherd.proxyPort(), "GET /interim HTTP/1.0\r\n\r\n", 5_000);

        assertThat(received.bytes()).isEqualTo(FINAL);
        assertThat(received.end()).isEqualTo(RawClient.End.FIN);
    }
}
