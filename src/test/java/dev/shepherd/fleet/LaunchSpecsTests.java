package dev.shepherd.fleet;

import dev.shepherd.InvalidSetting;
import dev.shepherd.MasterVariables;
import dev.shepherd.demo.DemoWorker;
import dev.shepherd.worker.LaunchSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

class LaunchSpecsTests {

    @Test
    void portIdAndIndexPlaceholdersAreReplacedInEveryArgument() {
        Launch specs = launch(properties(Map.of(
                "fleet.worker.command[0]", "node",
                "fleet.worker.command[1]", "server.js",
                "fleet.worker.command[2]", "--listen=127.0.0.1:{port}",
                "fleet.worker.command[3]", "--name=worker-{id}-{port}",
                "fleet.worker.command[4]", "--log=app-{index}.log")));

        LaunchSpec spec = specs.forWorker(7, 3, 4, 41_000);

        assertThat(specs.isDemo()).isFalse();
        assertThat(spec.command()).containsExactly("node", "server.js", "--listen=127.0.0.1:41000", "--name=worker-7-41000",
                "--log=app-3.log");
    }

    @Test
    void workerGetsItsPortIdIndexAndCountInTheEnvironmentBesidesTheConfiguredVariables() {
        Launch specs = launch(properties(Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.environment[NODE_ENV]", "production")));

        LaunchSpec spec = specs.forWorker(9, 2, 3, 40_001);

        assertThat(spec.environment()).containsOnly(entry("PORT", "40001"), entry("SHEPHERD_WORKER_ID", "9"),
                entry("SHEPHERD_WORKER_INDEX", "2"), entry("SHEPHERD_WORKER_COUNT", "3"),
                entry("NODE_APP_INSTANCE", "2"), entry("NODE_ENV", "production"));
    }

    @Test
    void nodeAppInstanceCanBeTurnedOffWhileTheIndexVariableStaysTheWorkersOwn() {
        Launch specs = launch(properties(Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.node-app-instance", "false")));

        assertThat(specs.forWorker(9, 1, 2, 40_001).environment()).doesNotContainKey("NODE_APP_INSTANCE")
                .containsEntry("SHEPHERD_WORKER_INDEX", "1");
        assertThat(specs.forWorker(9, 1, 2, 40_001).removed()).as("nor inherited from a master run under PM2")
                .containsExactly("NODE_APP_INSTANCE");
    }

    @Test
    void nodeAppInstanceTurnedOffMayBeSetByTheUser() {
        Launch specs = launch(properties(Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.node-app-instance", "false",
                "fleet.worker.environment[NODE_APP_INSTANCE]", "0")));

        assertThat(specs.forWorker(9, 1, 2, 40_001).environment()).containsEntry("NODE_APP_INSTANCE", "0");
        assertThat(specs.forWorker(9, 1, 2, 40_001).removed()).isEmpty();
    }

    @Test
    void theMastersOwnVariablesAreTakenOutUnlessTheGenerationSetsThem() {
        Launch specs = launch(properties(Map.of("fleet.worker.command[0]", "./server",
                "fleet.worker.environment[SERVER_SSL_ENABLED]", "true")), Set.of("MANAGEMENT_SERVER_PORT",
                "FLEET_ADMIN_TOKEN", "SERVER_SSL_ENABLED"));

        LaunchSpec spec = specs.forWorker(9, 1, 2, 40_001);

        assertThat(spec.removed()).containsExactlyInAnyOrder("MANAGEMENT_SERVER_PORT", "FLEET_ADMIN_TOKEN");
        assertThat(spec.environment()).containsEntry("SERVER_SSL_ENABLED", "true");
    }

    @Test
    void jvmOptionsReachWorkersWithoutTheMastersSettingsUnlessTheGenerationSetsThem() {
        FleetProperties properties = properties(Map.of("fleet.worker.command[0]", "./server",
                "fleet.worker.environment[JAVA_OPTS]", "-Dfleet.admin.token=mine"));
        LaunchSpecs specs = new LaunchSpecs(properties, Set.of(), Map.of(
                "JAVA_TOOL_OPTIONS", new MasterVariables.JvmOptions("-Xmx1g", List.of("server.port")),
                "JDK_JAVA_OPTIONS", new MasterVariables.JvmOptions("", List.of("fleet.workers")),
                "JAVA_OPTS", new MasterVariables.JvmOptions("", List.of("fleet.workers"))));

        LaunchSpec spec = specs.forWorker(WorkerSpec.configured(properties), 9, 1, 2, 40_001);

        assertThat(spec.environment()).containsEntry("JAVA_TOOL_OPTIONS", "-Xmx1g")
                .containsEntry("JAVA_OPTS", "-Dfleet.admin.token=mine").doesNotContainKey("JDK_JAVA_OPTIONS");
        assertThat(spec.removed()).containsExactly("JDK_JAVA_OPTIONS");
    }

    /** A configured PORT was replaced by the worker's own without a word: the user meant something else. */
    @ParameterizedTest
    @ValueSource(strings = {"PORT", "SHEPHERD_WORKER_ID", "SHEPHERD_WORKER_INDEX", "SHEPHERD_WORKER_COUNT", "SHEPHERD_TREE"})
    void aConfiguredPerWorkerVariableFailsNamingTheProperty(String name) {
        Map<String, String> config = Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.environment[" + name + "]", "80",
                "fleet.worker.environment[APP_PORT]", "80");

        assertThatThrownBy(() -> new LaunchSpecs(properties(config))).isInstanceOf(InvalidSetting.class)
                .hasMessage("fleet.worker.environment." + name + " sets " + name + ", which Shepherd sets for each worker "
                        + "(PORT, SHEPHERD_WORKER_ID, SHEPHERD_WORKER_INDEX, SHEPHERD_WORKER_COUNT, SHEPHERD_TREE, "
                        + "NODE_APP_INSTANCE): leave it out")
                .extracting(ex -> ((InvalidSetting) ex).property()).isEqualTo("fleet.worker.environment." + name);
    }

    /** As a reload's command and the state file's: the master used to start and fail to spawn {@code ""} for ever. */
    @ParameterizedTest
    @ValueSource(strings = {"", " "})
    void aBlankProgramFailsNamingTheProperty(String program) {
        Map<String, String> config = Map.of("fleet.worker.command[0]", program, "fleet.worker.command[1]", "x");

        assertThatThrownBy(() -> new LaunchSpecs(properties(config))).isInstanceOf(InvalidSetting.class)
                .hasMessage("fleet.worker.command[0] is blank: the first element names the program, such as "
                        + "node,server.js (left out, the built-in demo worker runs)")
                .extracting(ex -> ((InvalidSetting) ex).property()).isEqualTo("fleet.worker.command");
    }

    @Test
    void nodeAppInstanceMayBeConfiguredOnlyWhileShepherdDoesNotSetIt() {
        Map<String, String> config = Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.environment[NODE_APP_INSTANCE]", "0");

        assertThatThrownBy(() -> new LaunchSpecs(properties(config))).isInstanceOf(InvalidSetting.class)
                .hasMessageEndingWith("sets NODE_APP_INSTANCE, which Shepherd sets for each worker (PORT, SHEPHERD_WORKER_ID, "
                        + "SHEPHERD_WORKER_INDEX, SHEPHERD_WORKER_COUNT, SHEPHERD_TREE, NODE_APP_INSTANCE while "
                        + "fleet.worker.node-app-instance is on): leave it out")
                .extracting(ex -> ((InvalidSetting) ex).action()).asString().contains("fleet.worker.node-app-instance=false");
    }

    /** A reload's value was accepted, then replaced by each worker's own: the reload is refused before it starts. */
    @Test
    void aReloadMayNotSetAPerWorkerVariableButMayRemoveOne() {
        LaunchSpecs on = new LaunchSpecs(properties(Map.of("fleet.worker.command[0]", "./server")));
        LaunchSpecs off = new LaunchSpecs(properties(Map.of("fleet.worker.command[0]", "./server",
                "fleet.worker.node-app-instance", "false")));
        Map<String, String> removal = new java.util.HashMap<>();
        removal.put("PORT", null);

        assertThatThrownBy(() -> on.checkReloadEnvironment(Map.of("APP", "1", "PORT", "9000")))
                .isInstanceOf(FleetExceptions.InvalidSpecException.class)
                .hasMessage("environment sets PORT, which Shepherd sets for each worker (PORT, SHEPHERD_WORKER_ID, "
                        + "SHEPHERD_WORKER_INDEX, SHEPHERD_WORKER_COUNT, SHEPHERD_TREE, NODE_APP_INSTANCE): leave it out");
        assertThatThrownBy(() -> on.checkReloadEnvironment(Map.of("NODE_APP_INSTANCE", "3")))
                .isInstanceOf(FleetExceptions.InvalidSpecException.class).hasMessageContaining("node-app-instance is on");
        off.checkReloadEnvironment(Map.of("NODE_APP_INSTANCE", "3"));
        on.checkReloadEnvironment(removal);
        on.checkReloadEnvironment(Map.of("APP_PORT", "9000", "port", "1"));
    }

    @Test
    void workerRunsInTheConfiguredDirectory() {
        Launch specs = launch(properties(Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.working-directory", "/srv/app")));

        assertThat(specs.forWorker(1, 0, 1, 40_003).workingDirectory()).isEqualTo(Path.of("/srv/app"));
    }

    /** Found by an attacking helper: JSON, code and a shell's ${NAME} were refused as unknown placeholders. */
    @Test
    void bracesThatAreNoNameArePassedAsTheyAre() {
        Launch specs = launch(properties(Map.of(
                "fleet.worker.command[0]", "sh",
                "fleet.worker.command[1]", "-c",
                "fleet.worker.command[2]", "exec app --id ${SHEPHERD_WORKER_ID} --json '{\"a\":1}' | awk '{print $1}' {} {port}")));

        assertThat(specs.forWorker(4, 0, 1, 40_010).command().get(2))
                .isEqualTo("exec app --id ${SHEPHERD_WORKER_ID} --json '{\"a\":1}' | awk '{print $1}' {} 40010");
    }

    @Test
    void unknownPlaceholderFailsNamingTheCommandElement() {
        Map<String, String> config = Map.of(
                "fleet.worker.command[0]", "./server",
                "fleet.worker.command[1]", "--port={port}",
                "fleet.worker.command[2]", "--host={host}");

        assertThatIllegalStateException().isThrownBy(() -> new LaunchSpecs(properties(config)))
                .withMessageContaining("fleet.worker.command[2]")
                .withMessageContaining("{host}")
                .withMessageContaining("{port}, {id} and {index}");
    }

    @Test
    void emptyCommandRunsTheBuiltInDemoWorker() {
        Launch specs = launch(properties(Map.of("fleet.demo.work", "5")));

        LaunchSpec spec = specs.forWorker(4, 0, 1, 40_004);

        assertThat(specs.isDemo()).isTrue();
        assertThat(Path.of(spec.command().get(0))).isEqualTo(Path.of(System.getProperty("java.home"), "bin", "java"));
        // From the classes directory in tests, from the jar once packaged.
        assertThat(spec.command()).containsAnyOf(DemoWorker.class.getName(), "worker");
        assertThat(spec.environment()).containsEntry("PORT", "40004").containsEntry("SHEPHERD_WORKER_ID", "4")
                .containsEntry("SHEPHERD_DEMO_WORK", "5").doesNotContainKey("SHEPHERD_DEMO_CRASH_WITHIN_MS");
    }

    @Test
    void demoWorkerIsToldWhenToCrash() {
        Launch specs = launch(properties(Map.of("fleet.demo.crash-within", "10s")));

        assertThat(specs.forWorker(1, 0, 1, 40_005).environment()).containsEntry("SHEPHERD_DEMO_CRASH_WITHIN_MS", "10000");
    }

    @Test
    void demoCommandStartsASmallJvm() {
        assertThat(LaunchSpecs.demoCommand()).contains("-Xmx64m", "-XX:+ExitOnOutOfMemoryError");
    }

    @Test
    void demoWorkerRunsFromSpringBootsExecutableJarByItsWorkerCommand() {
        assertThat(LaunchSpecs.demoCommand(URI.create("jar:nested:/app/shepherd.jar/!BOOT-INF/classes/!/")))
                .endsWith("-jar", "/app/shepherd.jar", "worker");
    }

    @Test
    void demoWorkerRunsFromAClassDirectoryOrAPlainJarByItsClass() {
        assertThat(LaunchSpecs.demoCommand(URI.create("file:/work/target/classes/")))
                .endsWith("-cp", "/work/target/classes", DemoWorker.class.getName());
        // A jar of the classes without a Main-Class (a test's), or the Docker image's extracted application jar.
        assertThat(LaunchSpecs.demoCommand(URI.create("file:/app/shepherd.jar")))
                .endsWith("-cp", "/app/shepherd.jar", DemoWorker.class.getName());
    }

    private static FleetProperties properties(Map<String, String> config) {
        return new Binder(new MapConfigurationPropertySource(config)).bindOrCreate("fleet", FleetProperties.class);
    }

    /** The launch specs of the configured generation. */
    private static Launch launch(FleetProperties properties) {
        return launch(properties, Set.of());
    }

    /** The launch specs of the configured generation, for a master whose environment has {@code withheld}. */
    private static Launch launch(FleetProperties properties, Set<String> withheld) {
        return new Launch(new LaunchSpecs(properties, withheld), WorkerSpec.configured(properties));
    }

    private record Launch(LaunchSpecs specs, WorkerSpec spec) {

        LaunchSpec forWorker(int workerId, int index, int count, int port) {
            return specs.forWorker(spec, workerId, index, count, port);
        }

        boolean isDemo() {
            return spec.command().isEmpty();
        }
    }
}
