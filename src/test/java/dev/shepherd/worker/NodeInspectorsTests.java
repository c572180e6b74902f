package dev.shepherd.worker;

import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/** Node's inspector told by its message in a program's bytes, not by the program's name. */
public class NodeInspectorsTests {

    @TempDir
    Path directory;

    @Test
    void theMarkIsFoundAnywhereInTheFileEvenAcrossTwoBlocks() throws IOException {
        byte[] mark = "Debugger listening on".getBytes(StandardCharsets.US_ASCII);
        for (int at : new int[] {0, 1 << 20, (1 << 20) - 5, (3 << 20) - mark.length}) {
            byte[] bytes = new byte[3 << 20];
            Arrays.fill(bytes, (byte) 'D');
            System.arraycopy(mark, 0, bytes, at, mark.length);
            Path program = Files.write(directory.resolve("app-" + at), bytes);
            assertThat(NodeInspectors.search(program)).as("mark at %d", at).isTrue();
        }
    }

    @Test
    void aProgramWithoutTheMarkIsNoNode() throws IOException {
        byte[] bytes = new byte[(2 << 20) + 7];
        Arrays.fill(bytes, (byte) 'D');
        byte[] almost = "Debugger listening o".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(almost, 0, bytes, (1 << 20) - 3, almost.length);
        assertThat(NodeInspectors.search(Files.write(directory.resolve("python"), bytes))).isFalse();
        assertThat(NodeInspectors.search(directory.resolve("missing"))).isFalse();
    }

    /** A copy of node under another name (an attacking helper's), found running. */
    @Test
    void aRenamedNodeIsKnownByWhatItIs() throws Exception {
        Tools.assumeNode();
        Path renamed = Files.copy(node(), directory.resolve("myapp"));
        renamed.toFile().setExecutable(true);
        Process process = new ProcessBuilder(renamed.toString(), "-e", "setTimeout(() => {}, 30000)").start();
        try {
            NodeInspectors inspectors = new NodeInspectors();
            assertThat(inspectors.opensOnUsr1(process.pid())).isTrue();
            Process shell = new ProcessBuilder("sleep", "30").start();
            try {
                assertThat(inspectors.opensOnUsr1(shell.pid())).isFalse();
            } finally {
                shell.destroyForcibly();
            }
        } finally {
            process.destroyForcibly();
        }
    }

    /**
     * A mapped {@code libnode} is read through the mapping itself: a worker that removed the file it mapped and put a
     * FIFO at its path (which an open by path would wait on for ever) is still known by what it mapped.
     */
    @Test
    @org.junit.jupiter.api.Timeout(30)
    void aMappedLibnodeIsReadThroughItsMappingNotItsPath() throws Exception {
        Tools.assumePython();
        Path library = directory.resolve("libnode.so.108");
        byte[] bytes = new byte[8192];
        byte[] mark = "Debugger listening on".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(mark, 0, bytes, 100, mark.length);
        Files.write(library, bytes);
        Process process = new ProcessBuilder("python3", "-c", String.join("\n",
                "import mmap, os, sys, time",
                "f = open(sys.argv[1], 'rb')",
                "m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)",
                "os.remove(sys.argv[1])",
                "os.mkfifo(sys.argv[1])",
                "print('ready', flush=True)",
                "time.sleep(30)"), library.toString()).start();
        try {
            assertThat(new String(process.getInputStream().readNBytes(5))).isEqualTo("ready");
            assertThat(new NodeInspectors().opensOnUsr1(process.pid())).isTrue();
        } finally {
            process.destroyForcibly();
        }
    }

    /** The {@code node} program on the PATH, its links resolved. */
    public static Path node() throws IOException {
        for (String entry : System.getenv("PATH").split(":")) {
            Path candidate = Path.of(entry, "node");
            if (Files.isExecutable(candidate)) {
                return candidate.toRealPath();
            }
        }
        throw new IOException("no node on the PATH");
    }
}
