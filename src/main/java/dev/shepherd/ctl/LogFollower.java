package dev.shepherd.ctl;

import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.function.Function;

/**
 * Follows one worker's output lines for {@code logs -f} by their {@code seq}: each ask is for the lines after the
 * last one it got ({@code GET /fleet/workers/{id}/logs?after=}), so none is skipped unseen; those the master dropped
 * before they were asked for come as the answer's marker ({@code missed}), which is passed on to be printed. Of one
 * stream ({@code --err}, {@code --out}), by that stream's numbers ({@code streamSeq}, {@code &stream=&streamAfter=}):
 * only its lines come, and the marker counts only its lines missed. A master older than {@code streamSeq} is followed
 * through both streams, that one's lines kept, its marker counting both. One thread.
 */
final class LogFollower {

    private final int worker;
    private final int page;
    /** The stream followed, as the API names it; null: both. */
    private final String stream;
    /** The seq of the last element got: the next ask is for what follows it. */
    private long cursor;
    /** Of one stream, the streamSeq of that stream's last line got; -1 when followed by seq (both streams). */
    private long streamCursor = -1;
    /** Whether the last ask got a full page: more may be waiting, to be asked for at once. */
    private boolean full;

    /**
     * @param page how many lines one ask gets at most
     * @param stream {@code stdout} or {@code stderr}: that stream's lines only; null: both
     */
    LogFollower(int worker, int page, String stream) {
        this.worker = worker;
        this.page = page;
        this.stream = stream;
    }

    /** The worker's newest {@code lines} lines (of the stream), oldest first; the follow goes on after them. */
    List<JsonNode> start(Function<String, JsonNode> get, int lines) {
        if (stream != null) {
            // The newest line of either stream, asked first: the tail shows the stream's lines up to it and maybe
            // some after, and the follow goes on after the later of the two.
            List<JsonNode> newest = List.copyOf(get.apply(path(worker) + "?lines=1").values());
            cursor = lastSeq(newest, 0, false);
            streamCursor = newest.isEmpty() ? 0 : linesOfStreamUpTo(newest.get(0));
        }
        List<JsonNode> tail = List.copyOf(get.apply(path(worker) + "?lines=" + lines
                + (stream != null ? "&stream=" + stream : "")).values());
        cursor = Math.max(cursor, lastSeq(tail, 0, false));
        if (streamCursor >= 0 && !tail.isEmpty()) {
            streamCursor = Math.max(streamCursor, tail.get(tail.size() - 1).path("streamSeq").asLong(-1));
        }
        return tail;
    }

    /**
     * Follows from the worker's first line, for a worker that appeared while the follow ran: {@link #next} gives its
     * lines from the first, led by a marker of those the master dropped before they were read. It began at the last
     * {@code -n} lines of such a worker, and skipped the others without a word (found by a new user).
     */
    void fromFirst() {
        cursor = 0;
        streamCursor = stream != null ? 0 : -1;
    }

    /**
     * How many lines of the stream followed the worker had written up to {@code line}, a line of either stream: its
     * {@code streamSeq} when it is of that stream, else its {@code seq} less its {@code streamSeq} (each line is of one
     * of the two); -1 when the master does not number them so.
     */
    private long linesOfStreamUpTo(JsonNode line) {
        JsonNode seq = line.get("seq");
        JsonNode streamSeq = line.get("streamSeq");
        if (seq == null || !seq.canConvertToLong() || streamSeq == null || !streamSeq.canConvertToLong()) {
            return -1;
        }
        return stream.equals(line.path("stream").asString("")) ? streamSeq.asLong() : seq.asLong() - streamSeq.asLong();
    }

    /**
     * The lines (of the stream) after those got before, oldest first, led by a marker ({@code missed}) when some were
     * dropped.
     */
    List<JsonNode> next(Function<String, JsonNode> get) {
        if (streamCursor >= 0) {
            List<JsonNode> answer = List.copyOf(get.apply(path(worker) + "?lines=" + page + "&stream=" + stream
                    + "&streamAfter=" + streamCursor).values());
            if (answer.stream().anyMatch(element -> !element.path("streamSeq").canConvertToLong())) {
                // A master older than streamSeq, with no line when the follow began: it ignores streamAfter. Its
                // lines are all new (there were none): followed by seq from its first.
                streamCursor = -1;
                return next(get);
            }
            if (!answer.isEmpty()) {
                streamCursor = answer.get(answer.size() - 1).path("streamSeq").asLong();
            }
            full = answer.stream().filter(element -> !isMarker(element)).count() >= page;
            return answer;
        }
        List<JsonNode> answer = List.copyOf(get.apply(path(worker) + "?lines=" + page + "&after=" + cursor).values());
        cursor = lastSeq(answer, cursor, true);
        full = answer.stream().filter(element -> !isMarker(element)).count() >= page;
        return answer.stream().filter(element -> isMarker(element) || stream == null
                || stream.equals(element.path("stream").asString(""))).toList();
    }

    /** Whether the last {@link #next} got as many lines as one ask gets: more may be waiting already. */
    boolean full() {
        return full;
    }

    /** Whether an element of the answer is the marker of lines dropped before they were read. */
    static boolean isMarker(JsonNode element) {
        return element.has("missed");
    }

    /**
     * The seq of the last of {@code elements}, or {@code otherwise} when there are none; when {@code strict}, an
     * error if it has none or one below {@code otherwise} (the tail is printed all the same, without {@code -f}).
     */
    private long lastSeq(List<JsonNode> elements, long otherwise, boolean strict) {
        if (elements.isEmpty()) {
            return otherwise;
        }
        JsonNode seq = elements.get(elements.size() - 1).get("seq");
        boolean numbered = seq != null && seq.canConvertToLong() && seq.asLong() >= otherwise;
        if (!numbered && !strict) {
            return otherwise;
        }
        if (!numbered) {
            // A master older than this command line: it ignores after=, and the same lines would come again and again.
            throw new CtlException("the master does not number worker " + worker + "'s lines (seq): it is older than "
                    + "this command line, whose logs -f needs them; logs without -f shows the last lines");
        }
        return seq.asLong();
    }

    static String path(int worker) {
        return "/fleet/workers/" + worker + "/logs";
    }
}
