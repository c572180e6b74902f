package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.DefaultChannelConfig;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

/** The worker connection's handler on an embedded channel with the real decoder. */
class UpstreamHandlerTests {

    private static final ChannelOption<Boolean> QUICK_ACK = ChannelOption.valueOf("UpstreamHandlerTests.QUICK_ACK");

    /** The options set on the channel, in order. */
    private final List<Object> options = new ArrayList<>();
    private final EmbeddedChannel channel = recording();
    private final UpstreamDecoder decoder = new UpstreamDecoder();
    private final UpstreamHandler handler = new UpstreamHandler(decoder, channel, () -> { }, QUICK_ACK);
    private final List<Object> received = new ArrayList<>();
    /** Whether the client connection goes on after the answer, as {@link Attempt#complete} is told. */
    private boolean clientStays = true;
    private final UpstreamListener exchange = new UpstreamListener() {
        @Override
        public void onUpstreamMessage(Object message) {
            received.add(message);
            ReferenceCountUtil.release(message);
            if (message == UpstreamDecoder.END) {
                handler.detach();
                if (!clientStays) {
                    handler.ackAnswerEnd(System.nanoTime());
                }
            }
        }

        @Override
        public void upstreamReadComplete() {
        }

        @Override
        public void onUpstreamClosed(Throwable cause) {
        }

        @Override
        public void upstreamWritabilityChanged(boolean writable) {
        }
    };

    {
        channel.pipeline().addLast(decoder, handler);
    }

    /**
     * A worker that leaves Nagle's algorithm on and writes its head apart from its body holds the body until the head
     * is ACKed, which the master's kernel delays (~40 ms) on a kept-alive connection: once part of an answer has come,
     * quick ACKs are asked for, once per request.
     */
    @Test
    void partOfAnAnswerAsksForQuickAcksOncePerRequest() {
        handler.attach(exchange, false, false, false);
        read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        assertThat(options).containsExactly("UpstreamHandlerTests.QUICK_ACK=true");
        read("he");
        read("llo");
        assertThat(options).as("once per request").hasSize(1);
        assertThat(received).contains(UpstreamDecoder.END);

        handler.attach(exchange, false, false, false);
        read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assertThat(options).as("a whole answer in one read, its client going on: its next request carries the ACK")
                .hasSize(1);

        handler.attach(exchange, false, false, false);
        read("HTTP/1.1 200 OK\r\n");
        assertThat(options).as("the next request's partial answer").hasSize(2);
    }

    /**
     * When the client connection does not go on, another client's request may be next on the connection: the end of
     * the answer is ACKed at once, so that what a worker that leaves Nagle on writes after it (a late second response)
     * arrives while the connection is idle, rather than right behind that request, taken for its answer.
     */
    @Test
    void theEndOfAnAnswerWhoseClientLeavesAsksForAQuickAck() {
        clientStays = false;
        handler.attach(exchange, false, false, false);
        read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assertThat(options).as("a whole answer in one read").containsExactly("UpstreamHandlerTests.QUICK_ACK=true");

        handler.attach(exchange, false, false, false);
        read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhe");
        read("llo");
        assertThat(options).as("part of it, then its end").hasSize(3);

        clientStays = true;
        handler.attach(exchange, false, false, false);
        read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assertThat(options).as("a client that goes on").hasSize(3);
    }

    /**
     * A malformed answer closes the connection in the read that brought it, and a socket transport still ends that
     * read with a read-complete, before the close's inactive event: no option is set on the closed socket (its error
     * would replace the one that says why the answer was refused, which keeps it from being retried).
     */
    @Test
    void aConnectionClosedInTheReadIsNotAskedForQuickAcks() {
        handler.attach(exchange, false, false, false);
        // The handler's own channel would tell it of the close at once: a closed one stands in for it.
        EmbeddedChannel closed = recording();
        closed.close();
        ChannelHandlerContext context = mock(ChannelHandlerContext.class);
        when(context.channel()).thenReturn(closed);

        handler.channelReadComplete(context);

        assertThat(options).isEmpty();
    }

    /** A channel that records the options set on it in {@link #options}. */
    private EmbeddedChannel recording() {
        return new EmbeddedChannel() {
            private final ChannelConfig config = new DefaultChannelConfig(this) {
                @Override
                public <T> boolean setOption(ChannelOption<T> option, T value) {
                    options.add(option + "=" + value);
                    return true;
                }
            };

            @Override
            public ChannelConfig config() {
                return config;
            }
        };
    }

    private void read(String bytes) {
        channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.ISO_8859_1));
    }
}
