package dev.shepherd.worker;

import dev.shepherd.testsupport.Tools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** One master per fleet.worker.log-directory: two appended to the same worker-N-out.log files unwarned. */
class LogDirectoryLockTests {

    @TempDir
    Path directory;

    @Test
    void aSecondMasterOnTheSameDirectoryIsRefusedUntilTheFirstReleasesIt() throws Exception {
        try (LogDirectoryLock first = LogDirectoryLock.acquire(directory)) {
            assertThatThrownBy(() -> LogDirectoryLock.acquire(directory)).isInstanceOf(LogDirectoryLock.Refused.class)
                    .hasMessage("fleet.worker.log-directory " + directory + " is in use by another master (pid "
                            + ProcessHandle.current().pid() + "): both would write the same worker-<index>-out.log "
                            + "and -err.log files");
            assertThat(first).isNotNull();
            assertThat(Files.readString(directory.resolve(LogDirectoryLock.NAME)).trim())
                    .isEqualTo(Long.toString(ProcessHandle.current().pid()));
        }
        LogDirectoryLock.acquire(directory).close();
        assertThat(LogDirectoryLock.acquire(null)).as("no log directory, no lock").isNull();
    }

    @Test
    void aLockHeldByAnotherProcessNamesItsPid() throws Exception {
        Tools.assumePython();
        Path lock = directory.resolve(LogDirectoryLock.NAME);
        // fcntl locks, as the JDK's FileLock takes them on Linux.
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl, os, sys, time\n"
                + "f = open(sys.argv[1], 'w'); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                + "f.write(str(os.getpid()) + '\\n'); f.flush(); print('held', flush=True); time.sleep(60)\n",
                lock.toString()).redirectErrorStream(true).start();
        try {
            assertThat(new String(holder.getInputStream().readNBytes(4), StandardCharsets.US_ASCII)).isEqualTo("held");

            assertThatThrownBy(() -> LogDirectoryLock.acquire(directory)).isInstanceOf(LogDirectoryLock.Refused.class)
                    .hasMessageStartingWith("fleet.worker.log-directory " + directory + " is in use by another "
                            + "master (pid " + holder.pid() + ")");
            assertThat(Files.readString(lock).trim()).as("the holder's pid left as it was").isEqualTo(Long.toString(holder.pid()));
        } finally {
            holder.destroyForcibly().waitFor();
        }
        try (LogDirectoryLock mine = LogDirectoryLock.acquire(directory)) {
            assertThat(Files.readString(lock).trim()).as("the lock is the kernel's: gone with its holder")
                    .isEqualTo(Long.toString(ProcessHandle.current().pid()));
        }
    }

    /** As the output files: a link planted at the lock's name is not followed, and the file it names is left alone. */
    @Test
    void aSymbolicLinkAtTheLocksNameIsNotFollowed() throws Exception {
        Path precious = Files.writeString(Files.createTempFile("precious", ".txt"), "keep\n");
        try {
            Files.createSymbolicLink(directory.resolve(LogDirectoryLock.NAME), precious);

            assertThatThrownBy(() -> LogDirectoryLock.acquire(directory)).isInstanceOf(LogDirectoryLock.Refused.class)
                    .hasMessageStartingWith("fleet.worker.log-directory " + directory + " cannot be locked: "
                            + directory.resolve(LogDirectoryLock.NAME) + " cannot be used (");
            assertThat(Files.readString(precious)).isEqualTo("keep\n");
        } finally {
            Files.delete(precious);
        }
    }

    /** A file planted there by another user is not taken for the master's own. */
    @Test
    void aLockFileOfAnotherUserIsRefused() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0),
                "root, to give a file to another user");
        Path lock = Files.writeString(directory.resolve(LogDirectoryLock.NAME), "");
        try {
            Files.setAttribute(lock, "unix:uid", 65534);
        } catch (java.io.IOException unmapped) {
            org.junit.jupiter.api.Assumptions.abort("uid 65534 is not mapped in this user namespace: " + unmapped);
        }

        assertThatThrownBy(() -> LogDirectoryLock.acquire(directory)).isInstanceOf(LogDirectoryLock.Refused.class)
                .hasMessageContaining("belongs to uid 65534, not to the master's user");
        assertThat(Files.readString(lock)).isEmpty();
    }
}
