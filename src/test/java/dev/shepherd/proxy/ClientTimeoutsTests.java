package dev.shepherd.proxy;

import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client clocks on a channel whose time the test moves: header 300 ms, body 400 ms, keep-alive 500 ms, send
 * 600 ms.
 */
class ClientTimeoutsTests {

    private final List<ClientTimeouts.Phase> expired = new ArrayList<>();
    /** For each expiry, whether it was the minimum body rate's. */
    private final List<Boolean> belowMinRate = new ArrayList<>();
    private ClientTimeouts timeouts = new ClientTimeouts(Duration.ofMillis(300), Duration.ofMillis(400), 0,
            Duration.ofMillis(500), Duration.ofMillis(600), this::expired);
    private EmbeddedChannel channel = new EmbeddedChannel(timeouts);

    ClientTimeoutsTests() {
        // Time moves only when the test says; edges are tested 10 ms either side, for the instant before the freeze.
        channel.freezeTime();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    @Test
    void headNotCompleteWithinTheHeaderTimeoutExpiresThoughBytesKeepComing() {
        for (int i = 0; i < 5; i++) {
            advance(50);
            read("G");
        }
        advance(40);
        assertThat(expired).isEmpty();

        advance(20);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.HEAD);
    }

    @Test
    void bodyReadsPushTheBodyDeadlineAndAPauseLongerThanItExpires() {
        advance(100);
        timeouts.requestStarted(false);
        for (int i = 0; i < 5; i++) {
            advance(350);
            read("x");
        }
        assertThat(expired).isEmpty();

        advance(410);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.BODY);
    }

    @Test
    void bodyClockIsPausedWhileTheProxyDoesNotReadTheClient() {
        timeouts.requestStarted(false);
        channel.config().setAutoRead(false);
        advance(2000);
        assertThat(expired).isEmpty();

        channel.config().setAutoRead(true);
        advance(410);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.BODY);
    }

    @Test
    void noClockRunsWhileACompleteRequestIsServed() {
        timeouts.requestStarted(false);
        advance(100);
        timeouts.bodyComplete();
        advance(5000);

        assertThat(expired).isEmpty();
        assertThat(channel.isOpen()).isTrue();
    }

    @Test
    void idleConnectionIsClosedSilentlyAfterTheKeepAliveTimeout() {
        timeouts.requestStarted(true);
        advance(1000);
        timeouts.idle();
        advance(490);
        assertThat(channel.isOpen()).isTrue();

        advance(20);

        assertThat(channel.isOpen()).isFalse();
        assertThat(expired).isEmpty();
    }

    @Test
    void firstByteOfTheNextHeadOnAnIdleConnectionStartsTheHeaderClock() {
        timeouts.requestStarted(true);
        timeouts.idle();
        advance(450);
        read("G");
        advance(100);
        assertThat(channel.isOpen()).as("past the keep-alive deadline, within the header one").isTrue();

        advance(210);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.HEAD);
    }

    @Test
    void bytesOfANextRequestReadWhileServingStartTheHeaderClockWhenTheExchangeIsDone() {
        timeouts.requestStarted(true);
        read("GET / HT");
        advance(1000);
        timeouts.idle();
        advance(290);
        assertThat(expired).isEmpty();

        advance(20);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.HEAD);
    }

    @Test
    void clockEnteredRightAfterManyShortExchangesStillExpiresOnTime() {
        // The one timer is not moved on each phase change: it must still come by the earliest deadline.
        for (int i = 0; i < 100; i++) {
            timeouts.requestStarted(false);
            read("x");
            timeouts.bodyComplete();
            timeouts.idle();
            advance(7);
            read("G");
        }
        advance(290);
        assertThat(expired).isEmpty();

        advance(20);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.HEAD);
    }

    @Test
    void clientThatReadsNoneOfItsResponseIsClosedAtTheSendTimeout() {
        timeouts.requestStarted(true);
        stall();
        advance(590);
        assertThat(channel.isOpen()).isTrue();

        advance(20);

        assertThat(channel.isOpen()).as("closed by the send timeout").isFalse();
        assertThat(expired).isEmpty();
    }

    @Test
    void clientThatDrainsItsConnectionInTimeKeepsItAndTheNextStallHasAFullTimeout() {
        timeouts.requestStarted(true);
        stall();
        advance(500);
        channel.flushOutbound();
        assertThat(channel.isWritable()).isTrue();
        advance(500);
        stall();
        advance(590);
        assertThat(channel.isOpen()).isTrue();

        advance(20);

        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void sendClockKeepsRunningWhenTheExchangeEndsAndTheKeepAliveClockStarts() {
        timeouts.requestStarted(true);
        stall();
        advance(300);
        timeouts.idle();
        advance(290);
        assertThat(channel.isOpen()).isTrue();

        advance(20);

        assertThat(channel.isOpen()).as("closed 600 ms after the stall, before keep-alive's 300 + 500").isFalse();
    }

    /**
     * Found by a reviewing helper: a close that waited for its last write over a client reading nothing, with less
     * than the high-water mark unsent, never happened (the send timeout only runs while unwritable).
     */
    @Test
    void aCloseWaitingForItsLastWriteHappensWhenTheWriteIsNotDoneInTime() {
        timeouts.requestStarted(true);
        io.netty.channel.ChannelPromise neverWritten = channel.newPromise();

        ClientTimeouts.boundClose(neverWritten, TimeUnit.MILLISECONDS.toNanos(200));
        advance(190);
        assertThat(channel.isActive()).isTrue();
        advance(20);

        assertThat(channel.isActive()).as("closed at the bound, shorter than every clock").isFalse();
        assertThat(expired).isEmpty();
    }

    /** After a response, the bound counts again while the client still reads some (nginx's send_timeout). */
    @Test
    void aResponsesCloseWaitsWhileWhatIsLeftGoesDownAndNotWhenItStops() {
        io.netty.channel.ChannelOutboundBuffer out = unsentResponse();
        ClientTimeouts.boundResponseClose(lastWrite, TimeUnit.MILLISECONDS.toNanos(2000));
        advance(1500);
        out.remove(); // the client read some: 100 bytes went
        advance(560);
        assertThat(channel.isActive()).as("some of it was written within the bound").isTrue();
        advance(1950);
        assertThat(channel.isActive()).isTrue();
        advance(60);

        assertThat(channel.isActive()).as("nothing more written in a whole bound").isFalse();
    }

    /**
     * What was written in the bound's first second (io_uring's write in flight, completing) is not the client
     * reading: counted so, a client that read nothing held the connection twice the bound (an attacking helper's).
     */
    @Test
    void whatWasWrittenInTheFirstSecondDoesNotExtendTheBound() {
        io.netty.channel.ChannelOutboundBuffer out = unsentResponse();
        ClientTimeouts.boundResponseClose(lastWrite, TimeUnit.MILLISECONDS.toNanos(2000));
        advance(500);
        out.remove();
        advance(1560);

        assertThat(channel.isActive()).isFalse();
    }

    private io.netty.channel.ChannelPromise lastWrite;

    /** 200 bytes of a response and its last (empty) write, flushed but taken by no socket. */
    private io.netty.channel.ChannelOutboundBuffer unsentResponse() {
        timeouts.requestStarted(true);
        channel.write(Unpooled.wrappedBuffer(new byte[100]));
        channel.write(Unpooled.wrappedBuffer(new byte[100]));
        lastWrite = channel.newPromise();
        channel.write(Unpooled.EMPTY_BUFFER, lastWrite);
        io.netty.channel.ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        out.addFlush();
        return out;
    }

    @Test
    void aCloseWhoseLastWriteIsDoneInTimeIsLeftToItsListener() {
        timeouts.requestStarted(true);
        io.netty.channel.ChannelPromise written = channel.newPromise();
        ClientTimeouts.boundClose(written, TimeUnit.MILLISECONDS.toNanos(200));
        advance(100);

        written.setSuccess();
        advance(1000);

        assertThat(channel.isActive()).isTrue();
    }

    @Test
    void aChannelWithoutClientClocksBoundsTheCloseWithATimerOfItsOwn() {
        EmbeddedChannel bare = new EmbeddedChannel();
        bare.freezeTime();
        try {
            ClientTimeouts.boundClose(bare.newPromise(), TimeUnit.MILLISECONDS.toNanos(200));
            bare.advanceTimeBy(210, TimeUnit.MILLISECONDS);
            bare.runScheduledPendingTasks();

            assertThat(bare.isActive()).isFalse();
        } finally {
            bare.finishAndReleaseAll();
        }
    }

    /** Queues more than the high-water mark without flushing: the channel turns unwritable, as if the client did not read. */
    private void stall() {
        channel.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
        channel.write(Unpooled.wrappedBuffer(new byte[64]));
        assertThat(channel.isWritable()).isFalse();
    }

    private void expired(ClientTimeouts.Phase phase, boolean slow) {
        expired.add(phase);
        belowMinRate.add(slow);
    }

    /** The clocks again, with a minimum body rate of 10 bytes a second: each byte earns 100 ms past the 400 ms grace. */
    private void withMinRateOfTenBytesASecond() {
        channel.finishAndReleaseAll();
        timeouts = new ClientTimeouts(Duration.ofMillis(300), Duration.ofMillis(400), 10, Duration.ofMillis(500),
                Duration.ofMillis(600), this::expired);
        channel = new EmbeddedChannel(timeouts);
        channel.freezeTime();
    }

    @Test
    void aBodyTrickledSlowerThanTheMinRateExpiresThoughNoPauseIsTooLong() {
        withMinRateOfTenBytesASecond();
        timeouts.requestStarted(false);
        advance(350);
        body("x"); // the next byte is due by 500 ms by the rate, by 750 ms by the body timeout
        advance(140);
        assertThat(expired).isEmpty();

        advance(20);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.BODY);
        assertThat(belowMinRate).containsExactly(true);
    }

    @Test
    void aBodyAtTheMinRateGoesOnPastTheGrace() {
        withMinRateOfTenBytesASecond();
        timeouts.requestStarted(false);
        for (int i = 0; i < 20; i++) {
            advance(350);
            body("xxxx"); // 400 ms earned every 350 ms
        }
        timeouts.bodyComplete();
        advance(5000);

        assertThat(expired).isEmpty();
    }

    @Test
    void timeTheProxyIsNotReadingTheBodyIsNotTheClients() {
        withMinRateOfTenBytesASecond();
        timeouts.requestStarted(false);
        body("xx");
        channel.config().setAutoRead(false);
        advance(3000);
        channel.config().setAutoRead(true);
        advance(300);
        body("xxxx");
        advance(300);
        body("xxxx");
        advance(300);
        assertThat(expired).isEmpty();

        advance(2000); // nothing more comes: the rate clock runs out (before the 400 ms pause would, too)

        assertThat(expired).containsExactly(ClientTimeouts.Phase.BODY);
    }

    /**
     * Only body bytes as decoded earn time: a chunk-size line of zeros before each byte of body (or an extension, or
     * TLS records) is read, and keeps the body timeout away, but earns nothing.
     */
    @Test
    void framingEarnsNoTimeOnlyTheBodyItCarriesDoes() {
        withMinRateOfTenBytesASecond();
        timeouts.requestStarted(false);
        String chunk = "0".repeat(240) + "2\r\nxx\r\n";
        for (int i = 0; i < 3; i++) {
            advance(250);
            read(chunk);
            timeouts.bodyDecoded(2); // 200 ms earned every 250 ms: the clock stands at 1 s after the third
        }
        assertThat(expired).isEmpty();

        advance(300);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.BODY);
        assertThat(belowMinRate).containsExactly(true);
    }

    /**
     * A body that came fast banks at most twice the body timeout: a byte now and then afterwards does not keep it
     * open for the hours its first bytes would have earned.
     */
    @Test
    void aBodyThatCameFastThenTricklesIsCutWithinTwiceTheBodyTimeout() {
        withMinRateOfTenBytesASecond();
        timeouts.requestStarted(false);
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[1 << 20]));
        channel.releaseInbound();
        timeouts.bodyDecoded(1 << 20); // 29 hours at 10 bytes a second
        for (int i = 0; i < 3; i++) {
            advance(300);
            body("x"); // 100 ms earned every 300 ms: the 800 ms banked run out at 1.1 s
        }
        assertThat(expired).isEmpty();

        advance(300);

        assertThat(expired).containsExactly(ClientTimeouts.Phase.BODY);
        assertThat(belowMinRate).containsExactly(true);
    }

    /**
     * The connection is listed as reclaimable while it reads a head or is idle, and not while a request's body comes
     * or its response is served; its clock running out or its close takes it off the list.
     */
    @Test
    void theConnectionIsReclaimableOnlyWhileIdleOrReadingAHead() {
        channel.finishAndReleaseAll();
        ReclaimableConnections list = new ReclaimableConnections(new EmbeddedChannel().eventLoop(),
                new ReclaimableConnections.Listener() {
                    @Override
                    public void appeared() {
                    }

                    @Override
                    public void emptied() {
                    }
                }, System::nanoTime);
        timeouts = new ClientTimeouts(Duration.ofMillis(300), Duration.ofMillis(400), 0, Duration.ofMillis(500),
                Duration.ofMillis(600), this::expired, list, false, null);
        channel = new EmbeddedChannel(timeouts);
        channel.freezeTime();
        assertThat(list.size()).as("new").isEqualTo(1);
        assertThat(list.timed()).isTrue();

        read("GET / HTTP/1.1\r\n");
        assertThat(list.size()).isEqualTo(1);
        assertThat(list.timed()).as("its head begun").isFalse();
        assertThat(list.reclaimableCount()).isPositive();
        timeouts.requestStarted(false);
        assertThat(list.size()).as("reading a body").isZero();
        timeouts.bodyComplete();
        assertThat(list.size()).as("served").isZero();
        timeouts.idle();
        assertThat(list.size()).as("idle").isEqualTo(1);
        read("G");
        timeouts.requestStarted(true);
        assertThat(list.size()).as("served").isZero();
        timeouts.idle();
        advance(510);
        assertThat(channel.isOpen()).as("closed by its keep-alive clock").isFalse();
        assertThat(list.size()).isZero();

        // A pipelined request read with the one before it waits to be decoded: not reclaimable until it is, and
        // then only if it was part of a head.
        timeouts = new ClientTimeouts(Duration.ofMillis(300), Duration.ofMillis(400), 0, Duration.ofMillis(500),
                Duration.ofMillis(600), this::expired, list, false, null);
        channel = new EmbeddedChannel(timeouts);
        channel.freezeTime();
        read("GET / HTTP/1.1\r\n");
        timeouts.requestStarted(true);
        timeouts.idle(true);
        assertThat(timeouts.phase()).isEqualTo(ClientTimeouts.Phase.HEAD);
        assertThat(list.size()).as("a request may be waiting to be decoded").isZero();
        timeouts.headUnfinished();
        assertThat(list.reclaimableCount()).as("what waited was part of a head").isPositive();
        channel.close();
        assertThat(list.size()).isZero();

        EmbeddedChannel reclaimed = new EmbeddedChannel(new ClientTimeouts(Duration.ofMillis(300),
                Duration.ofMillis(400), 0, Duration.ofMillis(500), Duration.ofMillis(600), this::expired, list, false, null));
        reclaimed.writeInbound(Unpooled.copiedBuffer("G", StandardCharsets.US_ASCII));
        reclaimed.releaseInbound();
        assertThat(list.closeOldest()).isNotNull();
        assertThat(reclaimed.isOpen()).isFalse();
        assertThat(list.size()).isZero();
        assertThat(expired).as("closed, not timed out").isEmpty();
    }

    /** {@code bytes} of body read and decoded, as the client handler reports them. */
    private void body(String bytes) {
        read(bytes);
        timeouts.bodyDecoded(bytes.length());
    }

    private void read(String bytes) {
        channel.writeInbound(Unpooled.copiedBuffer(bytes, StandardCharsets.US_ASCII));
        channel.releaseInbound();
    }

    private void advance(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }
}
