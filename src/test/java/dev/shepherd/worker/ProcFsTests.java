package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

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
