package dev.shepherd.fleet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** When the state is written (only on change, newest first, once more at shutdown) and how it is restored. */
@ExtendWith(OutputCaptureExtension.class)
class StateKeeperTests {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-30T22:40:00Z"), ZoneOffset.UTC);
    private static final WorkerSpec CONFIGURED = new WorkerSpec(List.of("node", "app.js"), Map.of(), null, "/health");
    private static final WorkerSpec NEW = new WorkerSpec(List.of("node", "app-1.4.js"), Map.of("V", "1.4"), null, "/health");

    @TempDir
    Path dir;

    /** Records what it is asked to write; fails while {@link #failing} is set. */
    static final class FakeWriter implements StateKeeper.Writer {
        final List<SavedState> written = new CopyOnWriteArrayList<>();
        final AtomicBoolean failing = new AtomicBoolean();
        final AtomicInteger attempts = new AtomicInteger();
        volatile CountDownLatch entered = new CountDownLatch(0);
        volatile CountDownLatch release = new CountDownLatch(0);

        @Override
        public void write(SavedState state, Instant savedAt) throws IOException {
            entered.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            attempts.incrementAndGet();
            if (failing.get()) {
                throw new IOException("No space left on device");
            }
            written.add(new SavedState(state.desired(), state.spec(), savedAt));
        }
    }

    private final FakeWriter writer = new FakeWriter();
    private final StateKeeper keeper = new StateKeeper(Path.of("/var/lib/shepherd/state.json"), writer, CLOCK,
            new SavedState(2, CONFIGURED, null));

    @Test
    void snapshotsThatChangeNeitherDesiredNorSpecWriteNothing() {
        keeper.accept(FleetSnapshot.empty(2, CONFIGURED));
        keeper.accept(FleetSnapshot.empty(2, new WorkerSpec(List.of("node", "app.js"), Map.of(), null, "/health")));
        keeper.close();

        assertThat(writer.written).isEmpty();
    }

    @Test
    void eachChangeOfDesiredOrSpecIsWrittenOnceWithTheClocksTime() {
        keeper.accept(FleetSnapshot.empty(3, CONFIGURED));
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.written.size() == 1);
        keeper.accept(FleetSnapshot.empty(3, CONFIGURED));
        keeper.accept(FleetSnapshot.empty(3, NEW));
        await().atMost(Duration.ofSeconds(5)).until(() -> writer.written.size() == 2);
        keeper.accept(FleetSnapshot.empty(3, NEW));
        keeper.close();

        assertThat(writer.written).containsExactly(new SavedState(3, CONFIGURED, CLOCK.instant()),
                new SavedState(3, NEW, CLOCK.instant()));
    }

    @Test
    void changesWaitingForASlowWriteAreWrittenOnceAsTheNewest() throws InterruptedException {
        writer.entered = new CountDownLatch(1);
        writer.release = new CountDownLatch(1);
        keeper.accept(FleetSnapshot.empty(3, CONFIGURED));
        assertThat(writer.entered.await(5, TimeUnit.SECONDS)).isTrue();

        keeper.accept(FleetSnapshot.empty(4, CONFIGURED));
        keeper.accept(FleetSnapshot.empty(5, CONFIGURED));
        keeper.accept(FleetSnapshot.empty(6, NEW));
        writer.release.countDown();
        keeper.close();

        assertThat(writer.written).extracting(SavedState::desired).containsExactly(3, 6);
        assertThat(writer.written.get(1).spec()).isEqualTo(new SavedState(6, NEW, null).spec());
    }

    @Test
    void failingWritesWarnOnceNamingFileAndPropertyAndTheShutdownTriesAgain(CapturedOutput output) {
        writer.failing.set(true);
        for (int desired = 3; desired <= 5; desired++) {
            int attempts = desired - 2;
            keeper.accept(FleetSnapshot.empty(desired, CONFIGURED));
            await().atMost(Duration.ofSeconds(5)).until(() -> writer.attempts.get() == attempts);
        }
        writer.failing.set(false);
        keeper.close();

        assertThat(output.getOut().split("Cannot save the fleet state", -1)).hasSize(2);
        assertThat(output.getOut()).contains("WARN", "Cannot save the fleet state in /var/lib/shepherd/state.json "
                + "(fleet.state-file): No space left on device. The fleet keeps running");
        assertThat(writer.written).extracting(SavedState::desired).containsExactly(5);
        assertThat(output.getOut()).contains("The fleet state is saved in /var/lib/shepherd/state.json (fleet.state-file) again");
    }

    @Test
    void aKeeperWithoutStateFileWritesNothing() {
        FleetProperties properties = properties(Map.of("fleet.workers", "2"));
        StateKeeper none = StateKeeper.of(properties, CLOCK);

        none.accept(FleetSnapshot.empty(5, NEW));
        none.close();

        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        } catch (IOException ex) {
            throw new AssertionError(ex);
        }
        assertThat(StateKeeper.restore(properties)).isSameAs(properties);
    }

    @Test
    void aMissingFileStartsFromTheConfigurationAndIsWrittenAtTheFirstChange(CapturedOutput output) throws IOException {
        Path file = dir.resolve("state.json");
        FleetProperties configured = properties(Map.of("fleet.workers", "2", "fleet.state-file", file.toString()));

        FleetProperties properties = StateKeeper.restore(configured);
        StateKeeper real = StateKeeper.of(properties, CLOCK);
        real.accept(FleetSnapshot.empty(2, WorkerSpec.configured(properties)));
        assertThat(file).doesNotExist();
        real.accept(FleetSnapshot.empty(3, WorkerSpec.configured(properties)));
        real.close();

        assertThat(properties).isSameAs(configured);
        assertThat(output.getOut()).contains("No fleet state in " + file + " (fleet.state-file) yet: starting from the configuration");
        assertThat(new StateFile(file).read(64)).hasValueSatisfying(state -> assertThat(state.desired()).isEqualTo(3));
    }

    @Test
    void aSavedStateTakesThePlaceOfTheConfiguredCountAndSpecWithOneLineThatSaysSo(CapturedOutput output) throws IOException {
        Path file = dir.resolve("state.json");
        new StateFile(file).write(new SavedState(3, new WorkerSpec(List.of("node", "app-1.4.js", "--db-password=s3cret-arg"),
                Map.of("API_TOKEN", "s3cret-value"), dir, "/ready"), null), CLOCK.instant());
        FleetProperties configured = properties(Map.of("fleet.workers", "1", "fleet.state-file", file.toString(),
                "fleet.worker.command", "node,app.js", "fleet.worker.environment.OLD", "1",
                "fleet.readiness.path", "/health", "fleet.worker.drain-timeout", "7s", "fleet.readiness.interval", "50ms"));

        FleetProperties properties = StateKeeper.restore(configured);

        assertThat(properties.desiredWorkers()).isEqualTo(3);
        assertThat(WorkerSpec.configured(properties)).isEqualTo(new WorkerSpec(List.of("node", "app-1.4.js",
                "--db-password=s3cret-arg"), Map.of("API_TOKEN", "s3cret-value"), dir, "/ready"));
        assertThat(properties.worker().drainTimeout()).isEqualTo(Duration.ofSeconds(7));
        assertThat(properties.readiness().interval()).isEqualTo(Duration.ofMillis(50));
        assertThat(properties.stateFile()).isEqualTo(file);
        assertThat(output.getOut().lines().filter(line -> line.contains("fleet.state-file"))).singleElement().asString()
                .contains("WARN", "Restoring the fleet from " + file + " (fleet.state-file, saved 2026-11-30T22:40:00Z): "
                        + "3 workers running [node, app-1.4.js, --db-password=******]; this overrides fleet.workers")
                .doesNotContain("s3cret-value", "s3cret-arg");
    }

    /** The line is an INFO when the state runs the count and command configured: nothing typed is overridden. */
    @Test
    void aSavedStateOfTheConfiguredCountAndCommandIsSaidAtInfo(CapturedOutput output) throws IOException {
        Path file = dir.resolve("state.json");
        new StateFile(file).write(new SavedState(2, new WorkerSpec(List.of("node", "app.js"), Map.of("V", "2"), dir,
                "/health"), null), CLOCK.instant());
        StateKeeper.restore(properties(Map.of("fleet.workers", "2", "fleet.state-file", file.toString(),
                "fleet.worker.command", "node,app.js")));
        assertThat(output.getOut().lines().filter(line -> line.contains("Restoring the fleet from"))).singleElement()
                .asString().contains("INFO");
    }

    /**
     * Reloads accepted PORT before they were refused, and a state file kept it: that stopped startup naming
     * fleet.worker.environment.PORT, which nobody had set (found by an attacking helper).
     */
    @Test
    void aSavedPerWorkerVariableIsLeftOutWithAWarningNamingTheFile(CapturedOutput output) throws IOException {
        Path file = dir.resolve("state.json");
        new StateFile(file).write(new SavedState(2, new WorkerSpec(List.of("node", "app.js"),
                Map.of("PORT", "9", "NODE_APP_INSTANCE", "4", "APP", "1"), dir, null), null), CLOCK.instant());

        FleetProperties properties = StateKeeper.restore(properties(Map.of("fleet.state-file", file.toString())));
        FleetProperties off = StateKeeper.restore(properties(Map.of("fleet.state-file", file.toString(),
                "fleet.worker.node-app-instance", "false")));

        assertThat(properties.worker().environment()).containsExactly(Map.entry("APP", "1"));
        new LaunchSpecs(properties);
        assertThat(off.worker().environment()).as("NODE_APP_INSTANCE is the user's when Shepherd does not set it")
                .containsOnly(Map.entry("APP", "1"), Map.entry("NODE_APP_INSTANCE", "4"));
        assertThat(output.getOut()).contains("WARN", "fleet.state-file " + file + " sets NODE_APP_INSTANCE, PORT in "
                + "spec.environment, which Shepherd sets for each worker: left out (each worker got its own value "
                + "anyway); the next scale or reload saves the state without them");
    }

    @Test
    void aStateRestoredIsNotWrittenAgainUntilItChanges() throws IOException {
        Path file = dir.resolve("state.json");
        new StateFile(file).write(new SavedState(3, NEW, null), CLOCK.instant());
        byte[] before = Files.readAllBytes(file);
        FleetProperties properties = StateKeeper.restore(properties(Map.of("fleet.workers", "1",
                "fleet.state-file", file.toString())));
        StateKeeper real = StateKeeper.of(properties, Clock.offset(CLOCK, Duration.ofHours(1)));

        real.accept(FleetSnapshot.empty(3, NEW));
        real.close();

        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    @Test
    void aCorruptFileStopsTheRestoreAndIsNotOverwritten() throws IOException {
        Path file = dir.resolve("state.json");
        Files.writeString(file, "{\"format\": 1, \"desired\": 100}");
        FleetProperties configured = properties(Map.of("fleet.state-file", file.toString()));

        assertThatThrownBy(() -> StateKeeper.restore(configured)).isInstanceOf(StateFileException.class)
                .hasMessageContaining("fleet.state-file " + file + " is not a Shepherd state file");
        assertThat(Files.readString(file)).isEqualTo("{\"format\": 1, \"desired\": 100}");
    }

    /**
     * Found by a new user's attack: a saved directory that is gone started a master whose workers could never start,
     * retried for ever, where the same directory in fleet.worker.working-directory stops startup.
     */
    @Test
    void aSavedDirectoryThatIsGoneStopsTheRestoreNamingItAndTheFile() throws IOException {
        Path file = dir.resolve("state.json");
        Path gone = dir.resolve("gone");
        new StateFile(file).write(new SavedState(2, new WorkerSpec(List.of("node", "app.js"), Map.of(), gone, "/health"),
                null), CLOCK.instant());
        byte[] before = Files.readAllBytes(file);

        assertThatThrownBy(() -> StateKeeper.restore(properties(Map.of("fleet.state-file", file.toString()))))
                .isInstanceOf(StateFileException.class)
                .hasMessage("fleet.state-file " + file + " runs the workers in " + gone + ", which does not exist");
        assertThat(Files.readAllBytes(file)).isEqualTo(before);
    }

    private static FleetProperties properties(Map<String, String> values) {
        return new Binder(new MapConfigurationPropertySource(values)).bindOrCreate("fleet", FleetProperties.class);
    }
}
