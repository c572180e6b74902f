package dev.shepherd.fleet;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/** A health probe that answers at once, as the test says: by default every port passes. */
final class FakeProbe implements HealthProbe {

    private final Map<Integer, Probe.Result> answers = new HashMap<>();
    private Probe.Result otherwise = Probe.Result.OK;
    int checks;
    /** The path of the latest check. */
    String lastPath;

    @Override
    public CompletableFuture<Probe.Result> check(int port, String path) {
        checks++;
        lastPath = path;
        return CompletableFuture.completedFuture(answers.getOrDefault(port, otherwise));
    }

    /** Every port not told otherwise answers {@code ok}. */
    void answerAll(boolean ok) {
        otherwise = ok ? Probe.Result.OK : new Probe.Result(false, "GET /health answered 503");
    }

    /** Every port not told otherwise answers {@code result}. */
    void answerAll(Probe.Result result) {
        otherwise = result;
    }

    void answer(int port, boolean ok) {
        answers.put(port, ok ? Probe.Result.OK : new Probe.Result(false, "GET /health answered 503"));
    }
}
