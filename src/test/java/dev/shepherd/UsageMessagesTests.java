package dev.shepherd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UsageMessagesTests {

    @Test
    void picocliMessagesAreSaidInTheCommandLinesTerms() {
        assertThat(UsageMessages.reword("Unmatched argument at index 1: 'extra'")).isEqualTo("unexpected argument 'extra'");
        assertThat(UsageMessages.reword("Unmatched arguments from index 1: 'a', 'b'"))
                .isEqualTo("unexpected arguments 'a', 'b'");
        assertThat(UsageMessages.reword("Value for option option '--env' (NAME=VALUE) should be in KEY=VALUE format but was FOO"))
                .isEqualTo("--env wants NAME=VALUE, not 'FOO'");
        assertThat(UsageMessages.reword("Missing required parameter: 'N'")).isEqualTo("Missing required parameter: 'N'");
        assertThat(UsageMessages.reword(null)).isNull();
    }
}
