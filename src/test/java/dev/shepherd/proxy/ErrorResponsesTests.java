package dev.shepherd.proxy;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class ErrorResponsesTests {

    /** Reads the bytes back with Netty's own response decoder: they must be a valid HTTP/1.1 response. */
    private static FullHttpResponse parse(HttpResponseStatus status, String reason, boolean keep, boolean http10) {
        EmbeddedChannel channel = new EmbeddedChannel(new HttpResponseDecoder(), new HttpObjectAggregator(1 << 16));
        channel.writeInbound(ErrorResponses.of(ByteBufAllocator.DEFAULT, status, reason, keep, http10, false));
        FullHttpResponse response = channel.readInbound();
        channel.finishAndReleaseAll();
        assertThat(response.decoderResult().isSuccess()).isTrue();
        return response;
    }

    @Test
    void errorIsOnePlainTextLineSayingWhy() {
        FullHttpResponse response = parse(HttpResponseStatus.GATEWAY_TIMEOUT, "the worker did not answer in time", true, false);
        try {
            String body = response.content().toString(StandardCharsets.UTF_8);
            assertThat(response.status()).isEqualTo(HttpResponseStatus.GATEWAY_TIMEOUT);
            assertThat(body).isEqualTo("504 Gateway Timeout: the worker did not answer in time\n");
            assertThat(response.headers().get("Content-Type")).isEqualTo("text/plain; charset=utf-8");
            assertThat(response.headers().get("X-Content-Type-Options")).as("the reason may quote the request")
                    .isEqualTo("nosniff");
            assertThat(response.headers().getInt("Content-Length")).isEqualTo(body.getBytes(StandardCharsets.UTF_8).length);
            assertThat(response.headers().get("X-Shepherd-Error")).isEqualTo("504");
            assertThat(response.headers().contains("Retry-After")).isFalse();
            assertThat(HttpUtil.isKeepAlive(response)).isTrue();
            assertThat(response.headers().contains("Connection")).isFalse();
        } finally {
            response.release();
        }
    }

    @Test
    void serviceUnavailableTellsTheClientWhenToRetry() {
        FullHttpResponse response = parse(HttpResponseStatus.SERVICE_UNAVAILABLE, "no worker is ready", true, false);
        try {
            assertThat(response.headers().get("Retry-After")).isEqualTo("1");
        } finally {
            response.release();
        }
    }

    @Test
    void errorClosesTheConnectionWhenItIsNotKept() {
        FullHttpResponse response = parse(HttpResponseStatus.BAD_GATEWAY, "the worker closed the connection", false, false);
        try {
            assertThat(response.headers().get("Connection")).isEqualTo("close");
        } finally {
            response.release();
        }
    }

    @Test
    void anHttp10ClientKeptOpenIsToldSo() {
        FullHttpResponse response = parse(HttpResponseStatus.BAD_GATEWAY, "failed", true, true);
        try {
            assertThat(response.headers().get("Connection")).isEqualTo("keep-alive");
        } finally {
            response.release();
        }
    }

    @Test
    void theAnswerToHeadHasTheLengthButNoBody() {
        var bytes = ErrorResponses.of(ByteBufAllocator.DEFAULT, HttpResponseStatus.BAD_GATEWAY, "failed", true, false, true);
        try {
            String text = bytes.toString(StandardCharsets.UTF_8);
            assertThat(text).endsWith("\r\n\r\n").contains("content-length: " + "502 Bad Gateway: failed\n".length() + "\r\n");
        } finally {
            bytes.release();
        }
    }
}
