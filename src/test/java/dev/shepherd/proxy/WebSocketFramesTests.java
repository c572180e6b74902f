package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class WebSocketFramesTests {

    private final WebSocketFrames frames = new WebSocketFrames();

    @Test
    void aWholeSmallFrameEndsAtABoundary() {
        frames.track(bytes(0x81, 2, 'h', 'i'));
        assertThat(frames.atBoundary()).isTrue();
    }

    @Test
    void aFrameSplitAnywhereIsFollowedToItsEnd() {
        // A masked binary frame with a 16-bit length of 300, sent in pieces that cut its header and its payload.
        byte[] frame = new byte[2 + 2 + 4 + 300];
        frame[0] = (byte) 0x82;
        frame[1] = (byte) (0x80 | 126);
        frame[2] = 1;
        frame[3] = 44;
        for (int cut : new int[] {1, 3, 7, 100, frame.length}) {
            WebSocketFrames split = new WebSocketFrames();
            split.track(Unpooled.wrappedBuffer(frame, 0, cut));
            assertThat(split.atBoundary()).as("after %d bytes", cut).isEqualTo(cut == frame.length);
            split.track(Unpooled.wrappedBuffer(frame, cut, frame.length - cut));
            assertThat(split.atBoundary()).as("after all, cut at %d", cut).isTrue();
        }
    }

    @Test
    void aSixtyFourBitLengthIsRead() {
        frames.track(bytes(0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0));
        frames.track(Unpooled.wrappedBuffer(new byte[65535]));
        assertThat(frames.atBoundary()).isFalse();
        frames.track(Unpooled.wrappedBuffer(new byte[1]));
        assertThat(frames.atBoundary()).isTrue();
    }

    @Test
    void afterACloseFrameNothingMoreMayGoThatWay() {
        frames.track(bytes(0x88, 2, 0x03, 0xe8));
        assertThat(frames.atBoundary()).isFalse();
    }

    @Test
    void theGoingAwayFrameIsAWholeFrameWithItsCodeAndAShortReason() {
        ByteBuf frame = WebSocketFrames.goingAway(ByteBufAllocator.DEFAULT, "r".repeat(200), false);
        try {
            assertThat(frame.getUnsignedByte(0)).isEqualTo((short) 0x88);
            assertThat(frame.getUnsignedByte(1)).isEqualTo((short) 125);
            assertThat(frame.getUnsignedShort(2)).isEqualTo(1001);
            assertThat(frame.readableBytes()).isEqualTo(2 + 125);
        } finally {
            frame.release();
        }
    }

    private static ByteBuf bytes(int... values) {
        byte[] array = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            array[i] = (byte) values[i];
        }
        return Unpooled.wrappedBuffer(array);
    }
}
