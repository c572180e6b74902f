package dev.shepherd.ctl;

import tools.jackson.databind.JsonNode;

import java.util.List;
import java.util.function.Function;

/**
 * Follows one worker's output lines for {@code logs -f} by their {@code seq}: each ask is for the lines after the
 * last one it got ({@code GET /fleet/workers/{id}/logs?after=}), so none is skipped unseen; those the master dropped
 * before they were asked for come as the answer's marker ({@code missed}), which is passed on to be printed. One
 * thread.
 */
final class LogFollower {

    private final int worker;
    private final int page;
    /** The seq of the last element got: the next ask is for what follows it. */
    private long cursor;
    /** Whether the last ask got a full page: more may be waiting, to be asked for at once. */
    private boolean full;

    /**
     * @param page how many lines one ask gets at most
     */
    LogFollower(int worker, int page) {
        this.worker = worker;
        this.page = page;
    }

    /** The worker's newest {@code lines} lines, oldest first; the follow goes on from the last of them. */
    List<JsonNode> start(Function<String, JsonNode> get, int lines) {
        List<JsonNode> tail = List.copyOf(get.apply(path(worker) + "?lines=" + lines).values());
        cursor = lastSeq(tail, 0);
        return tail;
    }

    /** The lines after those got before, oldest first, led by a marker ({@code missed}) when some were dropped. */
    List<JsonNode> next(Function<String, JsonNode> get) {
        List<JsonNode> answer = List.copyOf(get.apply(path(worker) + "?lines=" + page + "&after=" + cursor).values());
        cursor = lastSeq(answer, cursor);
        full = answer.stream().filter(element -> !isMarker(element)).count() >= page;
        return answer;
    }

    /** Whether the last {@link #next} got as many lines as one ask gets: more may be waiting already. */
    boolean full() {
        return full;
    }

    /** Whether an element of the answer is the marker of lines dropped before they were read. */
    static boolean isMarker(JsonNode element) {
        return element.has("missed");
    }

    private long lastSeq(List<JsonNode> elements, long otherwise) {
        if (elements.isEmpty()) {
            return otherwise;
        }
        JsonNode seq = elements.get(elements.size() - 1).get("seq");
        if (seq == null || !seq.canConvertToLong() || seq.asLong() < otherwise) {
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
