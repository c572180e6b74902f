package dev.shepherd.proxy;

import dev.shepherd.proxy.RetryPolicy.Failure;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link RetryPolicy} as a table: how far the attempt got × what the request allows → retry or not. */
class RetryPolicyTests {

    private final RetryPolicy policy = new RetryPolicy(TunnelTests.properties(Map.of("fleet.proxy.retry.max-attempts", "3")));

    @ParameterizedTest(name = "{0}, retriable {1}, replayable {2}, attempts {3} -> {4}")
    @CsvSource({
            "NOT_SENT,     false, true,  1, true",
            "SENT,         true,  true,  1, true",
            "SENT,         false, true,  1, false",
            "SENT,         true,  false, 1, false",
            "SENT,         true,  true,  3, false",
            "TIMEOUT,      true,  true,  1, false",
            "BODY_TIMEOUT, true,  true,  1, false"})
    void retriesOnlyWhatCannotHaveBeenHandledTwice(Failure failure, boolean retriable, boolean replayable, int attempts,
                                                   boolean expected) {
        assertThat(policy.mayRetry(failure, retriable, replayable, attempts)).isEqualTo(expected);
    }

    @Test
    void eachAnswerSaysWhyInOneLine() {
        assertThat(policy.answer(Failure.TIMEOUT, null, "worker 3", "GET", true, 1, false))
                .isEqualTo(new RetryPolicy.Answer(HttpResponseStatus.GATEWAY_TIMEOUT, "worker 3 did not answer within 60000 ms"));
        assertThat(policy.answer(Failure.NOT_SENT, new ConnectTimeoutException("x"), "worker 3", "GET", true, 1, false)
                .status()).isEqualTo(HttpResponseStatus.GATEWAY_TIMEOUT);
        assertThat(policy.answer(Failure.SENT, null, "worker 3", "POST", false, 1, false).reason())
                .contains("not retried because POST is not idempotent").contains("Idempotency-Key");
        assertThat(policy.answer(Failure.SENT, null, "worker 3", "GET", true, 3, false))
                .isEqualTo(new RetryPolicy.Answer(HttpResponseStatus.BAD_GATEWAY,
                        "worker 3 failed (connection closed before a response) after 3 attempts"));
        assertThat(policy.answer(Failure.SENT, null, "worker 3", "GET", true, 1, true).reason())
                .isEqualTo("worker 3 failed (connection closed before a response) after 1 attempt; not retried: the "
                        + "retry budget is spent");
    }

    @Test
    void theCauseIsNamedInTheProxysWordsNeverTheTransportsOrAClass() {
        assertThat(RetryPolicy.describe(new java.io.IOException("io_uring read(..) failed with error(-104): Connection reset by peer")))
                .isEqualTo("connection reset by the worker");
        assertThat(RetryPolicy.describe(new java.io.IOException("writevAddresses(..) failed: Broken pipe")))
                .isEqualTo("the worker closed the connection while the request was sent");
        assertThat(RetryPolicy.describe(new java.net.ConnectException("finishConnect(..) failed: Connection refused: /127.0.0.1:4242")))
                .isEqualTo("connection refused");
        assertThat(RetryPolicy.describe(new java.nio.channels.ClosedChannelException())).isEqualTo("connection closed before a response");
        assertThat(RetryPolicy.describe(ResponseHeadParser.malformed("two different Content-Length values")))
                .isEqualTo("the worker's response is malformed: two different Content-Length values");
        // Found by an attacking helper: the worker's own bytes (control characters, another header) reached the client.
        assertThat(RetryPolicy.describe(ResponseHeadParser.malformed("header line 'X-Secret: 1\u001b[2J'")))
                .isEqualTo("the worker's response is malformed: header line");
        assertThat(RetryPolicy.describe(new io.netty.handler.codec.DecoderException("io.netty.util.IllegalReferenceCountException: refCnt: 0")))
                .isEqualTo("connection failed");
        assertThat(RetryPolicy.describe(new IllegalStateException())).isEqualTo("connection failed");
    }
}
