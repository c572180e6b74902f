package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The notes {@code logs -f} prints of lines it could not show: how many, and where they may still be. */
class LogsCommandTests {

    /** It said "(it keeps fleet.worker.log-lines)" though every line was in worker-0-out.log (a new user's). */
    @Test
    void theMarkerNamesTheFilesTheLinesMissedMayStillBeIn() {
        assertThat(LogsCommand.missed(3712, null, false, List.of("/var/log/app/worker-2-out.log",
                "/var/log/app/worker-2-err.log"))).isEqualTo("-- 3712 lines missed: dropped by the master before "
                + "they were read (it keeps fleet.worker.log-lines); they may still be in /var/log/app/worker-2-out.log "
                + "and /var/log/app/worker-2-err.log (or in their rotated .1, .2, ...) --");
        assertThat(LogsCommand.missed(1, "stderr", true, List.of("/logs/worker-0-err.log"))).isEqualTo("-- 1 line of "
                + "stderr missed: dropped by the master before it was read (it keeps fleet.worker.log-lines); it may "
                + "still be in /logs/worker-0-err.log (or in its rotated .1, .2, ...) --");
    }

    /** Without files (no log directory, or a master older than the marker's files): the setting that keeps them. */
    @Test
    void theMarkerWithoutFilesNamesTheSettingThatWritesThem() {
        assertThat(LogsCommand.missed(2, null, true, List.of())).isEqualTo("-- 2 lines of stdout and stderr missed: "
                + "dropped by the master before they were read (it keeps fleet.worker.log-lines; "
                + "fleet.worker.log-directory, when set, writes every line to files) --");
    }

    /** A file name is the master's bytes: shown in caret notation, as a worker's lines are. */
    @Test
    void aFileNameIsShownWithoutItsControlCharacters() {
        assertThat(LogsCommand.missed(2, null, false, List.of("/logs/\u001b[2Jworker-0-out.log")))
                .contains("/logs/^[[2Jworker-0-out.log").doesNotContain("\u001b");
    }

    @Test
    void aWorkerWhoseLinesAreGoneIsNamedWithTheSettingThatKeepsThem() {
        assertThat(LogsCommand.forgotten(9)).isEqualTo("-- every line of worker 9 missed: it came and went between "
                + "two asks, and the master no longer keeps its lines (fleet.worker.retired-logs; "
                + "fleet.worker.log-directory, when set, writes every line to files) --");
    }
}
