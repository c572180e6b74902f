package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LogTailTests {

    @Test
    void linesAfterThePreviousTailAreNew() {
        assertThat(LogTail.newLines(List.of("a", "b", "c"), List.of("b", "c", "d", "e"))).containsExactly("d", "e");
    }

    @Test
    void aLongerTailThatStartsEarlierStillYieldsOnlyTheNewLines() {
        assertThat(LogTail.newLines(List.of("c", "d"), List.of("a", "b", "c", "d", "e"))).containsExactly("e");
    }

    @Test
    void nothingIsNewWhenTheTailDidNotMove() {
        assertThat(LogTail.newLines(List.of("a", "b"), List.of("a", "b"))).isEmpty();
    }

    @Test
    void aShorterTailMatchesTheEndOfTheLongerPreviousOne() {
        assertThat(LogTail.newLines(List.of("a", "b", "c", "d"), List.of("c", "d", "e"))).containsExactly("e");
    }

    @Test
    void everyLineIsNewWhenThePreviousTailScrolledOutOfSight() {
        assertThat(LogTail.newLines(List.of("a", "b"), List.of("p", "q"))).containsExactly("p", "q");
        assertThat(LogTail.newLines(List.of(), List.of("p"))).containsExactly("p");
    }
}
