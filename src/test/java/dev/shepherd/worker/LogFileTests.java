package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class LogFileTests {

    @TempDir
    Path directory;

    @Test
    void aFileThatWouldPassItsSizeIsRotatedAndTheOldestDropped() throws IOException {
        Path path = directory.resolve("worker-0-out.log");
        LogFile file = new LogFile(path, 20, 3);

        for (int i = 0; i < 10; i++) {
            file.write("line " + i); // 7 bytes with its newline: two a file
        }

        assertThat(Files.readAllLines(path)).containsExactly("line 8", "line 9");
        assertThat(Files.readAllLines(file.rotated(1))).containsExactly("line 6", "line 7");
        assertThat(Files.readAllLines(file.rotated(2))).containsExactly("line 4", "line 5");
        assertThat(file.rotated(3)).doesNotExist();
        try (var files = Files.list(directory)) {
            assertThat(files.toList()).hasSize(3).allSatisfy(each -> assertThat(Files.size(each)).isLessThanOrEqualTo(20));
        }
    }

    @Test
    void oneFileStartsAgainEmptyWhenFull() throws IOException {
        Path path = directory.resolve("one.log");
        LogFile file = new LogFile(path, 20, 1);

        for (int i = 0; i < 5; i++) {
            file.write("line " + i);
        }

        assertThat(Files.readAllLines(path)).containsExactly("line 4");
        assertThat(file.rotated(1)).doesNotExist();
    }

    /**
     * In a directory other users can write to, a link planted at the file's name made a master running as root append
     * worker output to the file it names: links are not followed, and no line reaches the target.
     */
    @Test
    void aSymbolicLinkAtTheFilesNameIsNotFollowed() throws IOException {
        Path target = Files.writeString(directory.resolve("precious"), "keep\n");
        Path path = Files.createSymbolicLink(directory.resolve("worker-0-out.log"), target);
        LogFile file = new LogFile(path, 1000, 2);

        file.write("secret line");

        assertThat(Files.readString(target)).isEqualTo("keep\n");
        assertThat(Files.isSymbolicLink(path)).isTrue();
    }

    /** A file planted there by another user would hand them the output: one this user does not own is not written. */
    @Test
    void aFileOfAnotherUserIsNotWritten() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.getAttribute(Path.of("/proc/self"), "unix:uid").equals(0),
                "root, to give a file to another user");
        Path path = Files.writeString(directory.resolve("worker-0-err.log"), "");
        try {
            Files.setAttribute(path, "unix:uid", 65534);
        } catch (IOException unmapped) {
            org.junit.jupiter.api.Assumptions.abort("uid 65534 is not mapped in this user namespace: " + unmapped);
        }
        LogFile file = new LogFile(path, 1000, 2);

        file.write("secret line");

        assertThat(Files.readString(path)).isEmpty();
    }

    /** A master that starts again writes on after what the last one wrote, and counts it. */
    @Test
    void anExistingFileIsAppendedToAndCounted() throws IOException {
        Path path = directory.resolve("kept.log");
        Files.writeString(path, "x".repeat(15) + "\n");
        LogFile file = new LogFile(path, 20, 2);

        file.write("new");
        file.write("next");

        assertThat(Files.readAllLines(file.rotated(1))).containsExactly("x".repeat(15), "new");
        assertThat(Files.readAllLines(path)).containsExactly("next");
    }

    @Test
    void aLineLongerThanTheSizeGoesWholeIntoAFileOfItsOwn() throws IOException {
        Path path = directory.resolve("long.log");
        LogFile file = new LogFile(path, 10, 2);

        file.write("short");
        file.write("x".repeat(50));

        assertThat(Files.readAllLines(path)).containsExactly("x".repeat(50));
        assertThat(Files.readAllLines(file.rotated(1))).containsExactly("short");
    }

    /** A file that cannot be written takes lines from the file, not from the pump: it writes on once it can. */
    @Test
    void aWriteThatFailsIsDroppedAndTheNextThatCanIsWritten() throws IOException {
        Path path = directory.resolve("w.log");
        Files.createDirectory(path);
        LogFile file = new LogFile(path, 1000, 2);

        file.write("lost");
        file.write("lost too");
        Files.delete(path);
        file.write("back");

        assertThat(Files.readAllLines(path)).containsExactly("back");
    }

    /**
     * A disk that fills up mid-line takes the line's first bytes: they are truncated away, so the file holds whole lines
     * and the next one is not glued to the part ("alpha", then "bracharlie" before).
     */
    @Test
    void aLineCutByAFullDiskIsRolledBackSoTheNextOneStartsALineOfItsOwn() throws IOException {
        Path path = directory.resolve("w.log");
        FullDisk disk = new FullDisk();
        LogFile file = new LogFile(path, 1000, 2, System::nanoTime, disk);
        file.write("alpha");

        disk.room = 3;
        file.write("bravo, cut by the full disk");
        file.write("lost while the disk is full");
        disk.room = Long.MAX_VALUE;
        file.write("charlie");

        assertThat(Files.readString(path)).isEqualTo("alpha\ncharlie\n");
    }

    /** Where the part cannot be truncated away either, it is ended: the next line to that file starts a line. */
    @Test
    void aCutLineThatCannotBeRolledBackIsEndedBeforeTheNextLine() throws IOException {
        Path path = directory.resolve("w.log");
        FullDisk disk = new FullDisk();
        LogFile file = new LogFile(path, 1000, 2, System::nanoTime, disk);
        file.write("alpha");

        disk.room = 3;
        disk.truncateFails = true;
        file.write("bravo, cut by the full disk");
        disk.room = 1;
        file.write("delta, cut right after the newline that ends bra");
        disk.room = Long.MAX_VALUE;
        file.write("charlie");
        file.write("echo");

        assertThat(Files.readString(path)).isEqualTo("alpha\nbra\ncharlie\necho\n");
    }

    /** Removed (rm, logrotate without copytruncate), it is made again within a second: lines went to the removed one. */
    @Test
    void aFileRemovedIsStartedAgainWithinASecond() throws IOException {
        long[] now = {0};
        Path path = directory.resolve("w.log");
        LogFile file = new LogFile(path, 1000, 2, () -> now[0]);
        file.write("first");
        Files.delete(path);

        file.write("unseen");
        now[0] += 1_000_000_000L;
        file.write("seen");

        assertThat(Files.readAllLines(path)).containsExactly("seen");
    }

    /** Renamed, then reopened (the master's SIGUSR1): the next line goes to a new file at once, not a second later. */
    @Test
    void aReopenedFileTakesTheNextLineAtItsPathAtOnce() throws IOException {
        long[] now = {0};
        Path path = directory.resolve("w.log");
        LogFile file = new LogFile(path, 1000, 2, () -> now[0]);
        file.write("first");
        Files.move(path, directory.resolve("w.log.1"));

        file.reopen();
        file.write("second");

        assertThat(Files.readAllLines(path)).containsExactly("second");
        assertThat(Files.readAllLines(directory.resolve("w.log.1"))).containsExactly("first");
    }

    /**
     * A FIFO at the file's name is not opened (the open would wait for a reader for ever, holding the file's lock and
     * the SIGUSR1 that waited for it: a re-attacking helper hung a master so); the lines go to the buffer only.
     */
    @Test
    @org.junit.jupiter.api.Timeout(20)
    void aFifoAtTheFilesNameIsNotOpened() throws Exception {
        Path path = directory.resolve("w.log");
        Process mkfifo = new ProcessBuilder("mkfifo", path.toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        LogFile file = new LogFile(path, 1000, 2);

        file.write("first");
        file.reopen();
        file.write("second");

        assertThat(Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    /**
     * Found by an attacking helper: renamed and replaced (logrotate's default: rename, then create), the file kept
     * taking the lines, and the new one stayed empty.
     */
    @Test
    void aFileRenamedAndReplacedIsLeftForTheNewOneWithinASecond() throws IOException {
        long[] now = {0};
        Path path = directory.resolve("w.log");
        LogFile file = new LogFile(path, 1000, 2, () -> now[0]);
        file.write("first");
        Files.move(path, directory.resolve("w.log.1"));
        Files.writeString(path, "");

        now[0] += 1_000_000_000L;
        file.write("second");

        assertThat(Files.readAllLines(path)).containsExactly("second");
        assertThat(Files.readAllLines(directory.resolve("w.log.1"))).containsExactly("first");
    }

    @Test
    void eachStreamHasItsFileAndAWorkersEscapesAreShownNotObeyed() throws IOException {
        LogFiles files = LogFiles.of(directory, 3, 1000, 2);

        files.write(LogBuffer.Stream.STDOUT, "GET / 200");
        files.write(LogBuffer.Stream.STDERR, "Error: \u001b[2J boom");
        LogFiles.NONE.write(LogBuffer.Stream.STDOUT, "nowhere");

        assertThat(Files.readAllLines(directory.resolve("worker-3-out.log"))).isEqualTo(List.of("GET / 200"));
        assertThat(Files.readAllLines(directory.resolve("worker-3-err.log"))).isEqualTo(List.of("Error: ^[[2J boom"));
    }
}
