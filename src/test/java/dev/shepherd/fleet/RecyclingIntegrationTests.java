package dev.shepherd.fleet;

import dev.shepherd.testsupport.EchoWorker;
import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.testsupport.Traffic;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Workers are replaced before they cause trouble, through the drain path, with no failed request. */
class RecyclingIntegrationTests {

    @Test
    void workerLeakingPastMaxMemoryIsReplacedWithNoFailedRequest() throws Exception {
        String command = "--fleet.worker.command=" + String.join(",", RunningShepherd.javaCommand(EchoWorker.class, "-Xmx512m"));
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", command,
                "--fleet.worker.max-memory=160MB", "--fleet.worker.recycle-check-interval=200ms")) {
            Set<Long> leakers = new HashSet<>(shepherd.readyPids());
            try (Traffic traffic = Traffic.start(shepherd, "/leak?mb=2", 4)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.fleet().events().recent().stream()
                        .filter(event -> event.type() == FleetEvent.Type.RECYCLING).count() >= 2
                        && shepherd.readyPids().stream().noneMatch(leakers::contains));
                traffic.close();
                assertThat(traffic.failures()).as("failed requests").isEmpty();
                assertThat(traffic.ok()).isPositive();
            }
            assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.RECYCLING)
                    .first().satisfies(event -> assertThat(event.message()).contains("above fleet.worker.max-memory 160 MB"));
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(leakers)
                    .noneMatch(pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)));
        }
    }

    @Test
    void workersAreRecycledAfterMaxRequestsOneAtATime() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", "--fleet.worker.max-requests=40",
                "--fleet.worker.max-requests-jitter=20", "--fleet.worker.recycle-check-interval=100ms");
             Traffic traffic = Traffic.start(shepherd, "/", 4)) {
            Set<Long> first = new HashSet<>(shepherd.readyPids());
            await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.readyPids().size() == 2
                    && shepherd.readyPids().stream().noneMatch(first::contains));
            traffic.close();
            assertThat(traffic.failures()).as("failed requests").isEmpty();
            assertThat(shepherd.fleet().events().recent()).filteredOn(event -> event.type() == FleetEvent.Type.RECYCLING)
                    .isNotEmpty().allSatisfy(event -> assertThat(event.message()).contains("fleet.worker.max-requests 40"));
        }
    }
}
