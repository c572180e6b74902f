package dev.shepherd.proxy;

import dev.shepherd.fleet.WorkerFleetService;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class ExplodedClassesTests {

    @Test
    void everyClassFileOfAPackageRunFromADirectoryIsLoaded() throws Exception {
        Path proxyPackage = Path.of(ProxyServer.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("dev/shepherd/proxy");
        assertThat(proxyPackage).as("the tests run from target/classes").isDirectory();

        int loaded = ExplodedClasses.loadPackagesOf(ProxyServer.class, WorkerFleetService.class);

        assertThat(loaded).isEqualTo(classFiles(proxyPackage) + classFiles(proxyPackage.resolveSibling("fleet")));
    }

    @Test
    void aClassOfTheJdkIsNotInADirectoryAndNothingIsLoaded() {
        assertThat(ExplodedClasses.loadPackagesOf(String.class)).isZero();
    }

    private static long classFiles(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(file -> file.toString().endsWith(".class")).count();
        }
    }
}
