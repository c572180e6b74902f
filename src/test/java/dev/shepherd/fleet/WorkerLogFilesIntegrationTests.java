package dev.shepherd.fleet;

import dev.shepherd.testsupport.RunningShepherd;
import dev.shepherd.worker.LogDirectoryLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** PM2's out and error files, of a real master with a real worker: one file per stream of each slot, rotated by size. */
class WorkerLogFilesIntegrationTests {

    @TempDir
    Path directory;

    @Test
    void eachSlotsStreamsGoToFilesOfTheirOwnThatStayWithinTheirBound() throws Exception {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                "--fleet.worker.log-directory=" + directory, "--fleet.worker.log-file-max-size=8KB",
                "--fleet.worker.log-file-max-files=2")) {
            WorkerSnapshot worker = shepherd.snapshot().workers().get(0);
            Path out = directory.resolve("worker-" + worker.index() + "-out.log");
            Path err = directory.resolve("worker-" + worker.index() + "-err.log");

            HttpResponse<String> printed = shepherd.http().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + worker.port() + "/print?lines=4000&to=both&tag=file")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(printed.body()).isEqualTo("printed 4000\n");

            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                assertThat(Files.readAllLines(out)).last().isEqualTo("file out 3998");
                assertThat(Files.readAllLines(err)).last().isEqualTo("file err 3999");
            });
            assertThat(Files.readAllLines(out)).allMatch(line -> !line.contains(" err "));
            assertThat(Files.readAllLines(err)).allMatch(line -> line.startsWith("file err "));
            assertThat(Files.readAllLines(out.resolveSibling(out.getFileName() + ".1"))).as("rotated: the lines before")
                    .last().satisfies(line -> assertThat(line).startsWith("file out "));
            try (var files = Files.list(directory)) {
                List<Path> all = files.toList();
                assertThat(all).extracting(path -> path.getFileName().toString()).containsExactlyInAnyOrder(
                        "worker-0-out.log", "worker-0-out.log.1", "worker-0-err.log", "worker-0-err.log.1",
                        LogDirectoryLock.NAME);
                assertThat(all).allSatisfy(path -> assertThat(Files.size(path)).isLessThanOrEqualTo(8192));
            }
        }
    }
}
