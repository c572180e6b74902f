package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Request heads as a client sends them, through the proxy's decoder and then {@link RequestValidation}: the status
 * each gets before anything reaches a worker (RFC 9112 §3, RFC 9110 §7.2). {@code \0} in a case stands for a NUL.
 */
class RequestValidationTests {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            // Request line
            "GET / HTTP/1.1\\r\\nHost: t                                   | 200",
            "GET /a/b?x=1&y=%2F HTTP/1.1\\r\\nHost: t                      | 200",
            "GET /a\\0b HTTP/1.1\\r\\nHost: t                               | 400",
            "GET /caf\u00c3\u00a9 HTTP/1.1\\r\\nHost: t                    | 400",
            "GET /a\u0001 HTTP/1.1\\r\\nHost: t                            | 400",
            "GET /a\u007f HTTP/1.1\\r\\nHost: t                            | 400",
            "GET /page#top HTTP/1.1\\r\\nHost: t                           | 400",
            "GET a/b HTTP/1.1\\r\\nHost: t                                 | 400",
            "GET /\\evil.example/x HTTP/1.1\\r\\nHost: t                   | 400",
            "GET /a<script> HTTP/1.1\\r\\nHost: t                         | 400",
            "GET /a`b HTTP/1.1\\r\\nHost: t                               | 400",
            "GET /a{b} HTTP/1.1\\r\\nHost: t                              | 400",
            "GET /a%5Cb%22 HTTP/1.1\\r\\nHost: t                           | 200",
            "GET /a^c[1] HTTP/1.1\\r\\nHost: t                            | 200",
            // Dot segments that climb above the root (a new user's /../../etc/passwd reached the worker; nginx: 400)
            "GET /../../etc/passwd HTTP/1.1\\r\\nHost: t                   | 400",
            "GET /a/%2e%2E/../x HTTP/1.1\\r\\nHost: t                      | 400",
            "GET /a%2f..%2f..%2fx HTTP/1.1\\r\\nHost: t                    | 400",
            "GET http://other.example/../x HTTP/1.1\\r\\nHost: t           | 400",
            "GET /a/../b/./c HTTP/1.1\\r\\nHost: t                         | 200",
            "GET /a/b/..?x=/../.. HTTP/1.1\\r\\nHost: t                    | 200",
            "GET /.../x HTTP/1.1\\r\\nHost: t                              | 200",
            "GET * HTTP/1.1\\r\\nHost: t                                   | 400",
            "OPTIONS * HTTP/1.1\\r\\nHost: t                               | 200",
            "GET http://other.example:9000/x HTTP/1.1\\r\\nHost: t         | 200",
            "GET HTTPS://other.example HTTP/1.1\\r\\nHost: t               | 200",
            "GET ftp://other.example/x HTTP/1.1\\r\\nHost: t               | 400",
            "GET http://user@other.example/x HTTP/1.1\\r\\nHost: t         | 400",
            "GET http:///x HTTP/1.1\\r\\nHost: t                           | 400",
            "GET / HTTP/2.0\\r\\nHost: t                                   | 505",
            "GET / HTTP/9.9\\r\\nHost: t                                   | 505",
            "GET / HTTP/0.9\\r\\nHost: t                                   | 505",
            "GET / HTTP/1.0                                              | 200",
            // Method (RFC 9110 §9.1; as nginx takes them)
            "get / HTTP/1.1\\r\\nHost: t                                   | 400",
            "Get / HTTP/1.1\\r\\nHost: t                                   | 400",
            "M1 / HTTP/1.1\\r\\nHost: t                                    | 400",
            "VERSION-CONTROL / HTTP/1.1\\r\\nHost: t                       | 200",
            "PROPFIND / HTTP/1.1\\r\\nHost: t                              | 200",
            // Host (RFC 9112 §3.2, RFC 9110 §7.2)
            "GET / HTTP/1.1\\r\\nAccept: */*                               | 400",
            "GET / HTTP/1.1\\r\\nHost: t\\r\\nHost: evil.example             | 400",
            "GET / HTTP/1.0\\r\\nHost: t\\r\\nHost: evil.example             | 400",
            "GET / HTTP/1.1\\r\\nHost: t:8080                              | 200",
            "GET / HTTP/1.1\\r\\nHost: [::1]:8080                          | 200",
            "GET / HTTP/1.1\\r\\nHost: 127.0.0.1                           | 200",
            // An http URI must have a host (RFC 9110 §4.2.1); nginx refuses an empty Host too
            "GET / HTTP/1.1\\r\\nHost:                                     | 400",
            "GET / HTTP/1.0\\r\\nHost:                                     | 400",
            "GET / HTTP/1.1\\r\\nHost: :8080                                | 400",
            "GET http://:8080/x HTTP/1.1\\r\\nHost: t                      | 400",
            "GET / HTTP/1.0\\r\\nAccept: */*                               | 200",
            "GET / HTTP/1.1\\r\\nHost: a b                                 | 400",
            "GET / HTTP/1.1\\r\\nHost: evil.example/x                      | 400",
            "GET / HTTP/1.1\\r\\nHost: user@t                              | 400",
            "GET / HTTP/1.1\\r\\nHost: t:80x                               | 400",
            "GET / HTTP/1.1\\r\\nHost: t:/0                                | 400",
            "GET / HTTP/1.1\\r\\nHost: [::1]:80a                           | 400",
            "GET / HTTP/1.1\\r\\nHost: t:65535                             | 200",
            "GET / HTTP/1.1\\r\\nHost: t:1234567                           | 400",
            "GET / HTTP/1.1\\r\\nHost: [::1                                | 400",
            // No name holds a sub-delim: a comma would make X-Forwarded-Host a list (RFC 3986 §3.2.2 allows them)
            "GET / HTTP/1.1\\r\\nHost: good.example,evil.example           | 400",
            "GET / HTTP/1.1\\r\\nHost: a;b                                 | 400",
            "GET / HTTP/1.1\\r\\nHost: a!b                                 | 400",
            "GET / HTTP/1.1\\r\\nHost: my_host.internal~1%41               | 200",
            "GET / HTTP/1.1\\r\\nHost: t:                                  | 200",
            "GET / HTTP/1.1\\r\\nHost: t:65536                             | 400",
            "GET / HTTP/1.1\\r\\nHost: t:99999                             | 400",
            "GET / HTTP/1.1\\r\\nHost: [v1.x]                              | 400",
            "GET / HTTP/1.1\\r\\nHost: [::1,::2]                           | 400",
            "GET / HTTP/1.1\\r\\nHost: [2001:db8::7]                       | 200",
            "GET http://a,b:99/x HTTP/1.1\\r\\nHost: t                     | 400",
            // A percent-encoding is %HH of what a name holds (RFC 3986 §2.1, §3.2.2); past ASCII, an A-label
            "GET / HTTP/1.1\\r\\nHost: xn--caf-dma.example                 | 200",
            "GET / HTTP/1.1\\r\\nHost: caf%C3%A9.example                   | 400",
            "GET / HTTP/1.1\\r\\nHost: a%ef%bc%8fb                         | 400",
            "GET / HTTP/1.1\\r\\nHost: a%E2%84%80b                         | 400",
            "GET / HTTP/1.1\\r\\nHost: a%                                  | 400",
            "GET / HTTP/1.1\\r\\nHost: a%4                                 | 400",
            "GET / HTTP/1.1\\r\\nHost: a%zz                                | 400",
            "GET / HTTP/1.1\\r\\nHost: %00                                 | 400",
            "GET / HTTP/1.1\\r\\nHost: a%0d%0ab                            | 400",
            "GET / HTTP/1.1\\r\\nHost: a%2Fb                               | 400",
            "GET / HTTP/1.1\\r\\nHost: a%2cb                               | 400",
            "GET / HTTP/1.1\\r\\nHost: a%:80                               | 400",
            "GET / HTTP/1.1\\r\\nHost: [fe80::1%25eth0]                    | 400",
            "GET http://a%00b/x HTTP/1.1\\r\\nHost: t                      | 400",
            "GET http://%2F%2F/x HTTP/1.1\\r\\nHost: t                     | 400",
            "GET http://caf%c3%a9.example/x HTTP/1.1\\r\\nHost: t          | 400",
            "GET http://a%EF%BC%A0b/x HTTP/1.1\\r\\nHost: t                | 400",
            "GET http://good.example:99999/x HTTP/1.1\\r\\nHost: t         | 400",
            // Connection naming what the proxy relies on (RFC 9110 §7.6.1)
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nConnection: keep-alive, Content-Length\\r\\nContent-Length: 0   | 400",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\nConnection: host                        | 400",
            "GET / HTTP/1.1\\r\\nHost: t\\r\\nConnection: keep-alive, X-Trace                                | 200",
            // Transfer codings (RFC 9112 §6.1, §7) and expectations (RFC 9110 §10.1.1)
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: gzip, chunked                              | 501",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: Chunked                                    | 200",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: ,chunked                                   | 200",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: chunked, ,                                 | 200",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: ,\\r\\nContent-Length: 0                   | 400",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nExpect: 100-continue\\r\\nContent-Length: 0                     | 200",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nExpect: 200-ok\\r\\nContent-Length: 0                           | 417",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nExpect: 100-continue\\r\\nExpect: foo\\r\\nContent-Length: 0   | 417",
            "POST / HTTP/1.1\\r\\nHost: t\\r\\nExpect: 100-continue, foo\\r\\nContent-Length: 0           | 417",
            "GET / HTTP/1.1\\r\\nHost: t\\r\\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5                  | 400",
            "GET / HTTP/1.1\\r\\nHost: t\\r\\nsec-websocket-key2: 12998 5 Y3 1  .P00                   | 400",
            "GET / HTTP/1.1\\r\\nHost: t\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==              | 200",
    })
    void requestHeadGetsTheStatusHttpGivesIt(String head, int status) {
        assertThat(statusOf(head.replace("\\r\\n", "\r\n").replace("\\0", "\0"))).isEqualTo(status);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length : 5",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked",
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip",
            "GET / HTTP/1.1\r\nHost: t\r\nX: a\rb",
            "GET / HTTP/1.1 x\r\nHost: t",
    })
    void framingTheDecoderCannotReadSafelyIsRefusedBeforeValidation(String head) {
        assertThat(statusOf(head)).isEqualTo(400);
    }

    /** What browsers send raw is taken: | in a path, anything printable in the query (as nginx takes it). */
    @Test
    void aPipeInThePathAndBracesAndQuotesInTheQueryPass() {
        assertThat(statusOf("GET /a|b HTTP/1.1\r\nHost: t")).isEqualTo(200);
        assertThat(statusOf("GET /a?q={\"x\":\"<\\>\"}|^ HTTP/1.1\r\nHost: t")).isEqualTo(200);
    }

    private static int statusOf(String head) {
        EmbeddedChannel channel = new EmbeddedChannel(new RequestDecoder(new HttpDecoderConfig().setStrictLineParsing(true)
                .setUseRfc9112TransferEncoding(true).setAllowDuplicateContentLengths(false),
                new UnfinishedHeads(UnfinishedHeads.LIMIT), () -> false));
        channel.writeInbound(Unpooled.copiedBuffer(head + "\r\n\r\n", StandardCharsets.ISO_8859_1));
        HttpObject message = channel.readInbound();
        try {
            if (message.decoderResult().isFailure()) {
                return message.decoderResult().cause() instanceof RequestDecoder.Rejected rejected ? rejected.status().code() : 400;
            }
            RequestValidation.check((HttpRequest) message);
            return 200;
        } catch (RequestDecoder.Rejected rejected) {
            return rejected.status().code();
        } finally {
            ReferenceCountUtil.release(message);
            channel.finishAndReleaseAll();
        }
    }
}
