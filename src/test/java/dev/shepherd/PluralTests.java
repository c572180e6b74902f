package dev.shepherd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class PluralTests {

    /** "Starting a fleet of 1 workers" was logged (a new user's). */
    @Test
    void oneTakesTheSingularAndEveryOtherCountThePlural() {
        assertThat(Plural.of(1, "worker")).isEqualTo("1 worker");
        assertThat(Plural.of(0, "worker")).isEqualTo("0 workers");
        assertThat(Plural.of(3, "worker")).isEqualTo("3 workers");
    }
}
