package dev.shepherd.proxy;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class ErrorResponsesTests {

    @Test
    void errorIsOnePlainTextLineSayingWhy() {
        FullHttpResponse response = ErrorResponses.of(HttpResponseStatus.GATEWAY_TIMEOUT, "the worker did not answer in time", true);
        try {
            String body = response.content().toString(StandardCharsets.UTF_8);
            assertThat(body).isEqualTo("504 Gateway Timeout: the worker did not answer in time\n");
            assertThat(response.headers().get("Content-Type")).isEqualTo("text/plain; charset=utf-8");
            assertThat(response.headers().getInt("Content-Length")).isEqualTo(body.getBytes(StandardCharsets.UTF_8).length);
            assertThat(response.headers().get("X-Shepherd-Error")).isEqualTo("504");
            assertThat(response.headers().contains("Retry-After")).isFalse();
            assertThat(response.headers().contains("Connection")).isFalse();
        } finally {
            response.release();
        }
    }

    @Test
    void serviceUnavailableTellsTheClientWhenToRetry() {
        FullHttpResponse response = ErrorResponses.of(HttpResponseStatus.SERVICE_UNAVAILABLE, "no worker is ready", true);
        try {
            assertThat(response.headers().get("Retry-After")).isEqualTo("1");
        } finally {
            response.release();
        }
    }

    @Test
    void errorClosesTheConnectionWhenItIsNotKept() {
        FullHttpResponse response = ErrorResponses.of(HttpResponseStatus.BAD_GATEWAY, "the worker closed the connection", false);
        try {
            assertThat(response.headers().get("Connection")).isEqualTo("close");
        } finally {
            response.release();
        }
    }
}
