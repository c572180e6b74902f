package dev.shepherd.proxy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Paths whose {@code ..} segments climb above the root, as a worker that decodes and joins them would walk them. */
class DotSegmentsTests {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "/                       | false",
            "/..                     | true",
            "/../                    | true",
            "/../../etc/passwd       | true",
            "/a/..                   | false",
            "/a/../..                | true",
            "/a/./../b               | false",
            "/a//../../etc           | true",
            "/a/b/../../c            | false",
            "/a/b/../../../c         | true",
            "/%2e%2e/x               | true",
            "/%2E./x                 | true",
            "/.%2e                   | true",
            "/a%2F..%2F..%2Fx        | true",
            "/a%2f..                 | false",
            "/%2e%2e%2e/x            | false",
            "/...                    | false",
            "/..a/..                 | false",
            "/a..b/../..             | true",
            "/%252e%252e/x           | false",
            "/%2                     | false",
            "/a%2                    | false",
    })
    void climbsAboveRootAsAJoinWould(String path, boolean climbs) {
        assertThat(DotSegments.climbsAboveRoot(path, path.length())).isEqualTo(climbs);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "/a?x=/../..             | false",
            "/..?x                   | true",
    })
    void onlyThePathUpToTheQueryCounts(String target, boolean climbs) {
        int query = target.indexOf('?');
        assertThat(DotSegments.climbsAboveRoot(target, query)).isEqualTo(climbs);
    }
}
