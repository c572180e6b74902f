package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The admin port's request threads are all started with it: a worker that forked up to its user's process limit left
 * Tomcat unable to start one more, and the admin API died with the thread that serves its connections (found by an
 * attacking helper). On Java 21+ requests run on virtual threads instead, which need no such start.
 */
class AdminThreadsIntegrationTests {

    @Test
    void everyRequestThreadOfTheAdminPortRunsBeforeTheFirstRequest() {
        assumeThat(Runtime.version().feature()).as("Java 21+ serves the admin port on virtual threads").isLessThan(21);
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1")) {
            // Tomcat names them http-nio-ADDRESS-PORT-exec-N, PORT "auto-N" when it was picked at random.
            assertThat(requestThreads()).as("started with the port").isNotEmpty().allSatisfy((pool, count) ->
                    assertThat(count).as(pool).isEqualTo(32L));

            assertThat(shepherd.admin("GET", "/actuator/health", null, Map.of()).statusCode()).isEqualTo(200);

            assertThat(requestThreads()).as("none more").allSatisfy((pool, count) -> assertThat(count).isEqualTo(32L));
        }
    }

    /** The admin ports' request threads running now, counted by pool. */
    private static Map<String, Long> requestThreads() {
        return Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                .filter(name -> name.startsWith("http-nio-") && name.contains("-exec-"))
                .collect(Collectors.groupingBy(name -> name.substring(0, name.indexOf("-exec-")), Collectors.counting()));
    }
}
