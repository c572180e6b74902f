package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link FailureAnswers}: what the proxy's own answers say. */
class FailureAnswersTests {

    @Test
    void sizesAreWholeMegabytesOrKilobytesWhenTheyAreSomeElseBytes() {
        assertThat(FailureAnswers.readable(10L << 20)).isEqualTo("10 MB");
        assertThat(FailureAnswers.readable(64 * 1024)).isEqualTo("64 KB");
        assertThat(FailureAnswers.readable((1L << 20) + 1024)).isEqualTo("1025 KB");
        assertThat(FailureAnswers.readable(1000)).isEqualTo("1000 bytes");
        assertThat(FailureAnswers.readable(0)).isEqualTo("0 bytes");
    }

    @Test
    void aBodyTooLargeIsAnswered413WithTheLimitByItsProperty() {
        assertThat(FailureAnswers.CONTENT_TOO_LARGE.code()).isEqualTo(413);
        assertThat(FailureAnswers.CONTENT_TOO_LARGE.reasonPhrase()).isEqualTo("Content Too Large");
        assertThat(FailureAnswers.tooLarge(1L << 20))
                .isEqualTo("the request body is larger than fleet.proxy.client-max-body-size (1 MB)");
    }

    @Test
    void refusalsForRoomNameTheSpoolsBoundByItsProperty() {
        assertThat(FailureAnswers.slowestBodyRefused()).startsWith(
                "the request bodies the proxy keeps on disk are at fleet.proxy.client-body-temp-max-size, ");
        assertThat(FailureAnswers.mostHeldRefused()).endsWith(
                "this client's bodies held the most of them: another client's request got the room");
        assertThat(FailureAnswers.bodiesWaiting()).isEqualTo("no worker can take the request now, and the proxy "
                + "already holds " + (ProxyContext.WAITING_BODIES_LIMIT >> 20) + " MB of request bodies waiting for one");
    }
}
