package dev.shepherd.proxy;

import dev.shepherd.testsupport.Chromium;
import dev.shepherd.testsupport.NodeModules;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Server-Sent Events through a real master reach a real browser's {@code EventSource} as the worker sends them:
 * the page of streaming-worker.js keeps, per event, the delay between the worker's send time and its arrival.
 */
class StreamingBrowserTests {

    @Test
    void eventSourceInChromiumGetsEveryEventWithinAFewMillisecondsOfItsSending() {
        Chromium.assumeInstalled();
        Tools.assumeNode();
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1",
                "--fleet.worker.command=node," + NodeModules.script("streaming-worker.js"));
             Chromium browser = Chromium.launch()) {
            browser.open(shepherd.proxy("/page"));

            await().atMost(Duration.ofSeconds(20)).until(() -> delays(browser).size() >= 20);

            List<Double> delays = delays(browser).stream().limit(20).map(d -> Math.round(d * 10) / 10.0).sorted().toList();
            assertThat(delays.get(delays.size() / 2)).as("median delay in ms; all delays: " + delays)
                    .isLessThan(StreamingIntegrationTests.MEDIAN_DELAY_MILLIS);
            assertThat(delays.stream().filter(delay -> delay < 100).count()).as("events that came before the next "
                    + "was sent; delays in ms: " + delays).isGreaterThanOrEqualTo(18);
        }
    }

    private static List<Double> delays(Chromium browser) {
        return ((List<?>) browser.script("return window.delays;")).stream().map(d -> ((Number) d).doubleValue()).toList();
    }
}
