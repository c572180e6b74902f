package dev.shepherd.proxy;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A worker whose health says ok while it answers every request with 500 (a broken database pool in one process):
 * with {@code fleet.proxy.outlier-detection.consecutive-5xx}, the proxy takes it out of rotation after that many
 * failures in a row, the other worker takes every request, and the ejection ends after its time.
 */
class OutlierDetectionIntegrationTests {

    @Test
    void aWorkerThatFailsWhileItsHealthPassesIsEjectedThenComesBack() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.outlier-detection.consecutive-5xx=3",
                "--fleet.proxy.outlier-detection.base-ejection-time=6s", "--fleet.proxy.sticky.cookie=SRV")) {
            List<Long> pids = shepherd.readyPids();
            long bad = pids.get(0);
            long good = pids.get(1);
            String path = "/fail?pid=" + bad;

            List<Integer> statuses = new ArrayList<>();
            List<String> badSession = new ArrayList<>();
            // The event is seen once the snapshot with the worker out of rotation is published.
            await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10)).until(() -> {
                HttpResponse<String> response = shepherd.get(path);
                statuses.add(response.statusCode());
                if (response.statusCode() == 500) {
                    response.headers().firstValue("Set-Cookie").map(cookie -> cookie.substring(0, cookie.indexOf(';')))
                            .ifPresent(badSession::add);
                }
                return shepherd.fleet().events().recent().stream().anyMatch(event -> event.type() == FleetEvent.Type.EJECTED);
            });
            assertThat(shepherd.snapshot().inRotation()).isEqualTo(1);
            // Three, or four when a request reached it while the supervisor handled the third (the proxy reports, the
            // supervisor ejects).
            assertThat(statuses).filteredOn(status -> status == 500).hasSizeBetween(3, 4);
            assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.EJECTED)
                    .singleElement().extracting(FleetEvent::pid).isEqualTo(bad);

            for (int i = 0; i < 20; i++) {
                HttpResponse<String> response = shepherd.get(path);
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.body()).startsWith("pid=" + good + "\n");
            }

            // A session bound to the ejected worker is served elsewhere meanwhile and stays bound: no new cookie.
            HttpResponse<String> sticky = shepherd.send(HttpRequest.newBuilder(shepherd.proxy(path))
                    .header("Cookie", badSession.get(0)).build());
            assertThat(sticky.statusCode()).isEqualTo(200);
            assertThat(sticky.headers().allValues("Set-Cookie")).noneMatch(cookie -> cookie.startsWith("SRV="));

            await().atMost(Duration.ofSeconds(15)).until(() -> shepherd.snapshot().inRotation() == 2);
            List<Integer> after = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                after.add(shepherd.get(path).statusCode());
            }
            assertThat(after).as("back in rotation: it gets requests again").contains(500, 200);
            assertThat(shepherd.send(HttpRequest.newBuilder(shepherd.proxy(path)).header("Cookie", badSession.get(0)).build())
                    .statusCode()).as("and its session again").isEqualTo(500);
        }
    }
}
