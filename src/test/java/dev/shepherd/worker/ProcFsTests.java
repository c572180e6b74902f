package dev.shepherd.worker;

import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

class ProcFsTests {

    private static final byte[] MARKER = "\0SHEPHERD_TREE=42.1.7\0".getBytes(StandardCharsets.UTF_8);

    @Test
    void markerIsFoundFirstInTheMiddleAndLast() throws IOException {
        assertThat(search("SHEPHERD_TREE=42.1.7\0PATH=/bin\0")).isTrue();
        assertThat(search("PATH=/bin\0SHEPHERD_TREE=42.1.7\0HOME=/root\0")).isTrue();
        assertThat(search("PATH=/bin\0SHEPHERD_TREE=42.1.7\0")).isTrue();
    }

    @Test
    void anotherProcesssMarkerWithTheSamePrefixIsNotAMatch() throws IOException {
        assertThat(search("SHEPHERD_TREE=42.1.71\0")).isFalse();
        assertThat(search("X_SHEPHERD_TREE=42.1.7\0")).isFalse();
        assertThat(search("PATH=/bin\0")).isFalse();
        assertThat(search("")).isFalse();
    }

    @Test
    void markerAcrossTheBoundaryOfTwoReadsIsFound() throws IOException {
        for (int shift = -30; shift <= 30; shift++) {
            String padding = "A=" + "x".repeat(64 * 1024 + shift) + "\0";
            assertThat(search(padding + "SHEPHERD_TREE=42.1.7\0B=y\0")).as("shift %d", shift).isTrue();
        }
    }

    /** Found by an attacking helper: a pre-forking worker's tree was counted once per child with RSS. */
    @Test
    void aTreeThatSharesItsPagesAddsUpToWhatItHoldsNotOncePerProcess() throws Exception {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        Tools.assumePython();
        // 64 MB written once, then three children that share it copy-on-write.
        Process parent = new ProcessBuilder("python3", "-c", "import os, sys, time\n"
                + "b = b'x' * (64 << 20)\n"
                + "for _ in range(3):\n"
                + "    if os.fork() == 0:\n"
                + "        time.sleep(60); os._exit(0)\n"
                + "print('ready', flush=True)\n"
                + "time.sleep(60)\n").redirectErrorStream(true).start();
        try {
            assertThat(new String(parent.getInputStream().readNBytes(5), StandardCharsets.US_ASCII)).isEqualTo("ready");
            List<ProcessHandle> tree = new ArrayList<>(parent.toHandle().children().toList());
            tree.add(parent.toHandle());
            assertThat(tree).hasSize(4);

            long total = tree.stream().mapToLong(process -> ProcFs.residentBytes(process.pid()).orElseThrow()).sum();

            assertThat(total).as("64 MB held once, not four times").isBetween(60L << 20, 120L << 20);
        } finally {
            parent.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            parent.destroyForcibly();
        }
    }

    @Test
    void statOfThisProcessNamesItsParentAndSession() {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        long self = ProcessHandle.current().pid();

        ProcFs.Stat stat = ProcFs.stat(self).orElseThrow();

        assertThat(stat.ppid()).isEqualTo(ProcessHandle.current().parent().orElseThrow().pid());
        assertThat(ProcFs.processes()).extracting(ProcFs.Stat::pid).contains(self, stat.ppid());
    }

    @Test
    void aChildThatExitedUnreapedIsToldApartFromALiveOneThoughTheJdkCallsItAlive() throws Exception {
        assumeThat(ProcFs.available()).as("no /proc here").isTrue();
        long parent;
        try (ZombieChild zombie = ZombieChild.start()) {
            parent = zombie.parent().pid();
            assertThat(ProcFs.exitedNotReaped(zombie.child().pid())).as("still sleeping").isFalse();

            zombie.kill();

            assertThat(zombie.child().isAlive()).as("what the JDK says of a zombie").isTrue();
            assertThat(ProcFs.exitedNotReaped(parent)).as("the live parent").isFalse();
        }
        assertThat(ProcFs.exitedNotReaped(parent)).as("reaped and gone").isFalse();
        assertThat(ProcFs.exitedNotReaped(Long.MAX_VALUE)).as("no such process").isFalse();
    }

    @Test
    void environmentOfAnUnreadableOrGoneProcessHasNoMarker() {
        assertThat(ProcFs.hasEnvironmentEntry(Long.MAX_VALUE, "SHEPHERD_TREE=1")).isFalse();
    }

    private static boolean search(String environ) throws IOException {
        return ProcFs.contains(new ByteArrayInputStream(environ.getBytes(StandardCharsets.UTF_8)), MARKER);
    }
}
