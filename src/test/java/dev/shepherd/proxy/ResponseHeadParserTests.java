package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** What a {@link ResponseHeadParser}, one per worker connection, keeps between the heads it reads. */
class ResponseHeadParserTests {

    @Test
    void aHeadOfThousandsOfLinesLeavesNoLargeArrayBehind() {
        // A legal 32 KB head of ~8,000 'a:' lines grew the per-connection array to 128 KB for good: 1,000 pooled
        // connections to such a worker took the master's heap (found by an attacking helper).
        ResponseHeadParser parser = new ResponseHeadParser();
        StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
        head.append("a:\r\n".repeat(8_000)).append("\r\n");

        ResponseHead parsed = parse(parser, head.toString());

        assertThat(parsed.status()).isEqualTo(200);
        assertThat(parser.roomKept()).isLessThanOrEqualTo(64);
        assertThat(parse(parser, "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n").status()).isEqualTo(204);
    }

    private static ResponseHead parse(ResponseHeadParser parser, String head) {
        ByteBuf in = Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1);
        try {
            ResponseHead parsed = parser.parse(ByteBufAllocator.DEFAULT, in, 0, in.writerIndex(), false, false);
            parsed.release();
            return parsed;
        } finally {
            in.release();
        }
    }
}
