package dev.shepherd.fleet;

import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One master per fleet.state-file (found by a new user's attack: two masters on one file overwrote each other). */
class StateLockTests {

    @TempDir
    Path dir;

    @Test
    void aSecondMasterOnTheSameFileIsRefusedUntilTheFirstReleasesIt() {
        Path file = dir.resolve("state.json");
        try (StateLock first = StateLock.acquire(file)) {
            assertThatThrownBy(() -> StateLock.acquire(file)).isInstanceOf(StateFileException.class)
                    .hasMessage("fleet.state-file " + file + " is in use by another master (pid "
                            + ProcessHandle.current().pid() + ")");
            assertThat(first).isNotNull();
        }
        StateLock.acquire(file).close();
        assertThat(StateLock.acquire(null)).as("no state file, no lock").isNull();
    }

    @Test
    void aLockHeldByAnotherProcessNamesItsPid() throws Exception {
        Tools.assumePython();
        Path file = dir.resolve("state.json");
        Path lock = StateLock.pathOf(file);
        // fcntl locks, as the JDK's FileLock takes them on Linux.
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl, os, sys, time\n"
                + "f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                + "f.write(str(os.getpid()) + '\\n'); f.flush(); print('held', flush=True); time.sleep(60)\n",
                lock.toString()).redirectErrorStream(true).start();
        try {
            assertThat(new String(holder.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("held");

            assertThatThrownBy(() -> StateLock.acquire(file)).isInstanceOf(StateFileException.class)
                    .hasMessage("fleet.state-file " + file + " is in use by another master (pid " + holder.pid() + ")");
            assertThat(Files.readString(lock).trim()).as("the holder's pid left as it was").isEqualTo(Long.toString(holder.pid()));
        } finally {
            holder.destroyForcibly().waitFor();
        }
        try (StateLock mine = StateLock.acquire(file)) {
            assertThat(Files.readString(lock).trim()).as("the lock is the kernel's: gone with its holder")
                    .isEqualTo(Long.toString(ProcessHandle.current().pid()));
        }
    }
}
