package dev.shepherd.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * The npm packages of the Node test fixtures ({@code ws}, {@code socket.io}, {@code socket.io-client}, pinned in
 * {@code src/test/js/package-lock.json}), installed once per build into {@code target/js/node_modules} with
 * {@code npm ci}. A test that needs them calls {@link #assumeInstalled()}: it is skipped, with the command that
 * fixes it, when node or npm is missing or the install failed (no registry, for example).
 * <p>
 * Thread-safe: the first caller in a JVM installs while the others wait; a file lock on {@code target/js.lock}
 * keeps two builds (or {@code .ci/run}, which installs the same way) from installing over each other. An install
 * is reused while {@code target/js/.installed} holds the SHA-256 of the package.json and lock file it was made
 * from ({@code cat package.json package-lock.json | sha256sum}).
 */
public final class NodeModules {

    /** Where the fixtures live, relative to the project directory (the tests' working directory). */
    public static final Path SOURCES = Path.of("src", "test", "js").toAbsolutePath();
    public static final Path TARGET = Path.of("target", "js").toAbsolutePath();
    public static final Path MODULES = TARGET.resolve("node_modules");

    private static final String INSTALL_TOOLS = "apt-get install nodejs npm";
    private static final long INSTALL_TIMEOUT_SECONDS = 300;

    /** null: not tried yet; "": installed; anything else: why the install failed. */
    private static String outcome;

    private NodeModules() {
    }

    /** Installs the packages unless done already, or skips the calling test saying why and how to fix it. */
    public static void assumeInstalled() {
        String why = install();
        assumeThat(why).as("the npm packages of src/test/js could not be installed (%s); install node and npm (%s), "
                + "check that the npm registry is reachable, then run: mkdir -p target/js && cp src/test/js/package*.json "
                + "target/js && (cd target/js && npm ci); skipping", why, INSTALL_TOOLS).isEmpty();
    }

    /** A fixture script under {@code src/test/js}, as an absolute path. */
    public static String script(String name) {
        return SOURCES.resolve(name).toString();
    }

    /** The Shepherd arguments that run {@code script} as the worker, with the modules on its NODE_PATH. */
    public static String[] workerArguments(String script) {
        return new String[] {"--fleet.worker.command=node," + script(script),
                "--fleet.worker.environment.NODE_PATH=" + MODULES};
    }

    private static synchronized String install() {
        if (outcome == null) {
            try {
                outcome = installOnce();
            } catch (IOException ex) {
                outcome = ex.toString();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                outcome = "interrupted";
            }
        }
        return outcome;
    }

    private static String installOnce() throws IOException, InterruptedException {
        for (String tool : List.of("node", "npm")) {
            if (!runs(tool, "--version")) {
                return tool + " is not installed";
            }
        }
        Files.createDirectories(TARGET);
        String lockHash = sha256(SOURCES.resolve("package.json"), SOURCES.resolve("package-lock.json"));
        Path marker = TARGET.resolve(".installed");
        try (FileChannel channel = FileChannel.open(TARGET.resolveSibling("js.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock ignored = channel.lock()) {
            if (Files.exists(marker) && Files.readString(marker).trim().equals(lockHash) && Files.isDirectory(MODULES)) {
                return "";
            }
            Files.deleteIfExists(marker);
            for (String file : List.of("package.json", "package-lock.json")) {
                Files.copy(SOURCES.resolve(file), TARGET.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
            String result = npmCi();
            if (result.isEmpty()) {
                Files.writeString(marker, lockHash + "\n");
            }
            return result;
        }
    }

    /** Runs {@code npm ci} in target/js, bounded in time; returns "" or what went wrong with the end of its output. */
    private static String npmCi() throws IOException, InterruptedException {
        Path log = TARGET.resolve("npm-ci.log");
        Process npm = new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
                .directory(TARGET.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!npm.waitFor(INSTALL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            npm.descendants().forEach(ProcessHandle::destroyForcibly);
            npm.destroyForcibly().waitFor();
            return "npm ci took longer than " + INSTALL_TIMEOUT_SECONDS + " s";
        }
        if (npm.exitValue() != 0) {
            List<String> output = Files.readAllLines(log, StandardCharsets.UTF_8);
            return "npm ci exited with " + npm.exitValue() + ": "
                    + String.join(" | ", output.subList(0, Math.min(3, output.size()))) + " ... (all of it in " + log + ")";
        }
        return "";
    }

    private static boolean runs(String... command) throws InterruptedException {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return false;
            }
            return process.exitValue() == 0;
        } catch (IOException ex) {
            return false;
        }
    }

    /** The SHA-256 of the files one after the other, as {@code cat FILES | sha256sum} prints it. */
    private static String sha256(Path... files) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Path file : files) {
                digest.update(Files.readAllBytes(file));
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        } catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }
}
