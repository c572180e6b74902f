package dev.shepherd.testsupport;

import dev.shepherd.ShepherdApplication;
import org.springframework.util.FileSystemUtils;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * How a test starts {@link ShepherdApplication} in a JVM of its own: the class path and the JVM options that map the
 * master's classes from a class-data-sharing archive (JEP 350, a dynamic archive on top of the JDK's own).
 * <p>
 * A master started by a test spent ~6.8 CPU s until its first worker was READY, most of it loading, verifying and
 * initialising Spring's and the master's classes; from the archive, ~4.9 (three alternated starts each, JDK 17, C1 only,
 * 2026-12-06). The suite starts some thirty such JVMs (masters and command-line runs). The archive is made
 * once per build of {@code target/classes} by a training run that exits once its context is refreshed (Spring's
 * {@code spring.context.exit=onRefresh}, the training run of Spring Boot's CDS guide), under a file lock that the
 * test forks share, and kept in {@code target/test-master} with the jar below; older ones there are removed.
 * <p>
 * CDS reads classes from jar files only, so the master runs on a jar of {@code target/classes} and the jars of the
 * test class path, without the test classes (which a master never needs: its workers have class paths of their own).
 * Where the archive cannot be made (no {@code jar} tool, a training run that fails), masters start as before, on the
 * test class path without an archive, and why is printed once on the test JVM's stderr.
 * <p>
 * Thread-safe: {@link #command} is called from any test thread; the archive is made at most once per test JVM.
 */
final class MasterClassArchive {

    private static final String DIRECTORY = "test-master";

    /** The class path and archive options, once made; null until then. */
    private static List<String> options;

    private MasterClassArchive() {
    }

    /**
     * The JVM options that follow {@code java} and the caller's own options for {@link ShepherdApplication}: the
     * archive's ({@code -XX:SharedArchiveFile}, CDS logging off) where it could be made, then {@code -cp} and the
     * class path.
     */
    static synchronized List<String> command() {
        if (options == null) {
            options = make();
        }
        return options;
    }

    private static List<String> make() {
        String testClassPath = System.getProperty("java.class.path");
        try {
            Path classes = RunningShepherd.codeSource(ShepherdApplication.class);
            if (!Files.isDirectory(classes)) {
                return List.of("-cp", testClassPath);
            }
            Path directory = classes.resolveSibling(DIRECTORY);
            Files.createDirectories(directory);
            String key = key(classes, testClassPath);
            Path jar = directory.resolve("classes-" + key + ".jar");
            Path archive = directory.resolve("master-" + key + ".jsa");
            String classPath = jarClassPath(testClassPath, classes, RunningShepherd.codeSource(MasterClassArchive.class), jar);
            try (FileChannel channel = FileChannel.open(directory.resolve("lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock ignored = channel.lock()) {
                if (!Files.exists(archive)) {
                    removeOlder(directory);
                    writeJar(classes, jar);
                    train(classPath, archive);
                }
            }
            return List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off",
                    "-cp", classPath);
        } catch (IOException | RuntimeException ex) {
            StringWriter trace = new StringWriter();
            ex.printStackTrace(new PrintWriter(trace));
            System.err.println("Masters start without a class-data-sharing archive: " + trace);
            return List.of("-cp", testClassPath);
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return List.of("-cp", testClassPath);
        }
    }

    /**
     * A digest of the test class path and of every file under {@code classes} (its path, size and modification
     * time): what the archive and the jar were made from. A JVM refuses an archive whose jars changed since.
     */
    private static String key(Path classes, String testClassPath) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
        digest.update(testClassPath.getBytes(StandardCharsets.UTF_8));
        digest.update(Runtime.version().toString().getBytes(StandardCharsets.UTF_8));
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.sorted().toList()) {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                digest.update((classes.relativize(file) + "\0" + attributes.size() + "\0"
                        + attributes.lastModifiedTime().toMillis() + "\n").getBytes(StandardCharsets.UTF_8));
            }
        }
        return HexFormat.of().formatHex(digest.digest(), 0, 8);
    }

    /** The test class path with {@code classes} replaced by {@code jar}, without the test classes or any directory. */
    private static String jarClassPath(String testClassPath, Path classes, Path testClasses, Path jar) {
        List<String> entries = new ArrayList<>();
        for (String entry : testClassPath.split(File.pathSeparator)) {
            Path path = Path.of(entry).toAbsolutePath();
            if (path.equals(classes.toAbsolutePath())) {
                entries.add(jar.toString());
            } else if (!path.equals(testClasses.toAbsolutePath()) && !Files.isDirectory(path)) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void removeOlder(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : files.filter(file -> !file.getFileName().toString().equals("lock")).toList()) {
                FileSystemUtils.deleteRecursively(file);
            }
        }
    }

    private static void writeJar(Path classes, Path jar) throws IOException {
        ToolProvider tool = ToolProvider.findFirst("jar").orElseThrow(() -> new IOException("no jar tool in this JDK"));
        Path written = jar.resolveSibling(jar.getFileName() + ".tmp");
        StringWriter output = new StringWriter();
        PrintWriter writer = new PrintWriter(output);
        int code = tool.run(writer, writer, "--create", "--file", written.toString(), "-C", classes.toString(), ".");
        writer.flush();
        if (code != 0) {
            throw new IOException("jar exited with " + code + ": " + output);
        }
        Files.move(written, jar, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Runs a master on {@code classPath} until its context is refreshed (no port bound, no worker started) and
     * writes the classes it loaded to {@code archive}. At most 120 s.
     */
    private static void train(String classPath, Path archive) throws IOException, InterruptedException {
        Path written = archive.resolveSibling(archive.getFileName() + ".tmp");
        Path temporary = Files.createTempDirectory("master-training");
        Path log = temporary.resolve("training.log");
        List<String> command = new ArrayList<>(RunningShepherd.jvm());
        command.addAll(List.of("-Xmx256m", "-Djava.io.tmpdir=" + temporary, "-XX:ArchiveClassesAtExit=" + written,
                "-Dspring.context.exit=onRefresh", "-cp", classPath, ShepherdApplication.class.getName(),
                "--server.port=0", "--management.server.port=" + FreePorts.unassigned(), "--fleet.workers=1",
                "--fleet.worker.command=true"));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                throw new IOException("the training run is still running after 120 s: " + Files.readString(log));
            }
            if (process.exitValue() != 0 || !Files.exists(written)) {
                throw new IOException("the training run exited with " + process.exitValue() + " and "
                        + (Files.exists(written) ? "an" : "no") + " archive: " + Files.readString(log));
            }
            Files.move(written, archive, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            FileSystemUtils.deleteRecursively(temporary);
        }
    }
}
