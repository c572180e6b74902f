package dev.shepherd.proxy;

import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.List;
import java.util.stream.Stream;

/**
 * Loads, without initializing, every class of some packages when they run from a directory of class files
 * ({@code ./mvnw spring-boot:run}, the tests): there each class is a file opened when first used, and a class first
 * used while the master is out of file descriptors (a retry's, a failure path's) fails to load for good, a {@link
 * NoClassDefFoundError} at every later use (found when the exhaustion test broke retries that way, 2026-12-04). From
 * the jar, classes are read from the jar file already open, and nothing is done.
 */
@Slf4j
final class ExplodedClasses {

    private ExplodedClasses() {
    }

    /**
     * Loads the classes of each anchor's package, nested ones included, if that package is a directory; returns how
     * many. Never throws: a class that cannot be loaded now is left to its first use, as without this.
     */
    static int loadPackagesOf(Class<?>... anchors) {
        int loaded = 0;
        for (Class<?> anchor : anchors) {
            Path directory = packageDirectory(anchor);
            if (directory == null) {
                continue;
            }
            List<Path> classFiles;
            try (Stream<Path> files = Files.list(directory)) {
                classFiles = files.filter(file -> file.getFileName().toString().endsWith(".class")).toList();
            } catch (IOException ex) {
                log.debug("Could not list {}: {}", directory, ex.toString());
                continue;
            }
            for (Path file : classFiles) {
                String simple = file.getFileName().toString();
                String name = anchor.getPackageName() + "." + simple.substring(0, simple.length() - ".class".length());
                try {
                    Class.forName(name, false, anchor.getClassLoader());
                    loaded++;
                } catch (ClassNotFoundException | LinkageError ex) {
                    log.debug("Could not load {} ahead: {}", name, ex.toString());
                }
            }
        }
        return loaded;
    }

    private static Path packageDirectory(Class<?> anchor) {
        CodeSource source = anchor.getProtectionDomain().getCodeSource();
        URL location = source == null ? null : source.getLocation();
        if (location == null || !"file".equals(location.getProtocol())) {
            return null;
        }
        try {
            Path directory = Path.of(location.toURI()).resolve(anchor.getPackageName().replace('.', '/'));
            return Files.isDirectory(directory) ? directory : null;
        } catch (URISyntaxException | IllegalArgumentException ex) {
            return null;
        }
    }
}
