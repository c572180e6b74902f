package dev.shepherd.admin;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.shepherd.worker.LogBuffer;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.ArrayList;
import java.util.List;

/**
 * A line of a worker's output, or, first in an answer to {@code after} (or {@code streamAfter}), the marker of the
 * lines dropped before they were read: {@code seq} and {@code missed} only (the lines numbered
 * {@code seq - missed + 1} to {@code seq}), or, of one stream, {@code stream}, {@code streamSeq} and {@code missed}
 * (that stream's lines numbered {@code streamSeq - missed + 1} to {@code streamSeq}). A reader that follows passes the
 * last element's {@code seq} as its next {@code after}, or its {@code streamSeq} as its next {@code streamAfter}.
 * With {@code fleet.worker.log-directory} set, the marker also has {@code files}: where the lines dropped were
 * written, as nothing else tells a reader of the API (found by a new user, told only of fleet.worker.log-lines).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record LogLine(@Schema(description = "The line's number among the worker id's lines, from 1, one more for each; on "
                       + "the marker of an answer to after, the last line dropped; not on one of streamAfter") Long seq,
               Long pid, @Schema(format = "date-time") String at, String line,
               @Schema(description = "Which output of the process the line came from", allowableValues = {
                       "stdout", "stderr"}) String stream,
               @Schema(description = "The line's number among the worker id's lines of its stream, from 1; on the "
                       + "marker of an answer to streamAfter, the last line of the stream dropped") Long streamSeq,
               @Schema(description = "Only on the marker, first in an answer to after (or streamAfter): how many "
                       + "lines after it were dropped (fleet.worker.log-lines, log-bytes) before they were read, of "
                       + "both streams (of the one asked for, with streamAfter)") Long missed,
               @Schema(description = "Only on the marker, when fleet.worker.log-directory is set: the absolute paths "
                       + "of the worker slot's files that the lines dropped were written to (stdout's, stderr's; of "
                       + "the one asked for, with streamAfter), each rotated to .1, .2, ...") List<String> files) {

    static LogLine of(LogBuffer.Entry entry) {
        LogBuffer.Line line = entry.line();
        return new LogLine(entry.seq(), line.pid(), line.at().toString(), line.text(), line.stream().label(),
                entry.streamSeq(), null, null);
    }

    /** The marker of {@code count} lines of both streams dropped, the last numbered {@code lastSeq}. */
    static LogLine missed(LogBuffer buffer, long lastSeq, long count) {
        return new LogLine(lastSeq, null, null, null, null, null, count, files(buffer, null));
    }

    /** The paths of the files of {@code stream} (both when null) of the buffer's slot; null when it has none. */
    private static List<String> files(LogBuffer buffer, LogBuffer.Stream stream) {
        List<String> paths = buffer.files().paths(stream).stream().map(Object::toString).toList();
        return paths.isEmpty() ? null : paths;
    }

    /**
     * The answer to {@code stream} with {@code streamAfter}: the first {@code count} lines of {@code stream} after its
     * line {@code streamAfter}, led by a marker of how many of its lines were dropped before they were read.
     *
     * @throws InvalidRequestException when there is no stream, {@code after} is given too, or the stream had no such
     *                                 line (below 0, past its newest)
     */
    static List<LogLine> afterInStream(LogBuffer buffer, int id, int count, LogBuffer.Stream stream, Long after,
                                       long streamAfter) {
        if (stream == null) {
            throw new InvalidRequestException("streamAfter counts the lines of one stream: give stream=stdout or "
                    + "stream=stderr with it (or after=SEQ, which counts both)");
        }
        if (after != null) {
            throw new InvalidRequestException("give after or streamAfter, not both: after is a seq, of the lines of "
                    + "both streams, streamAfter a streamSeq, of the lines of " + stream.label());
        }
        long newest = buffer.newestStreamSeq(stream);
        if (streamAfter < 0 || streamAfter > newest) {
            throw new InvalidRequestException("streamAfter must be the streamSeq of a " + stream.label() + " line of "
                    + "worker " + id + ", 0 to " + newest + " (its newest), not " + streamAfter);
        }
        LogBuffer.Page page = buffer.afterInStream(streamAfter, count, stream);
        List<LogLine> answer = new ArrayList<>(page.entries().size() + 1);
        if (page.missed() > 0) {
            answer.add(new LogLine(null, null, null, null, stream.label(), streamAfter + page.missed(), page.missed(),
                    files(buffer, stream)));
        }
        page.entries().forEach(entry -> answer.add(of(entry)));
        return answer;
    }
}
