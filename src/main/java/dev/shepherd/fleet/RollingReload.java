package dev.shepherd.fleet;

import dev.shepherd.Plural;
import dev.shepherd.TerminalText;
import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.worker.WorkerExit;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Surge-first replacement of workers: start the new one, wait until it is READY, only then drain the old one.
 * A rolling reload replaces every worker that way, one at a time, so the READY count never drops below the
 * desired count; a new worker that never gets READY is killed and the old ones keep serving.
 *
 * <p>A reload brings the fleet to a new generation that runs a new {@link WorkerSpec}. That spec becomes the current
 * one (what scale, replace and recycle start) only when the reload succeeded. When it fails, the workers of the new
 * generation that had already taken over are replaced back, surge-first and one at a time, by workers of the current
 * generation running its spec (the rollback), so the fleet runs one spec again; while the rollback runs, the reload
 * counts as {@link #busy()}. Runs on the supervisor's thread.
 */
@Slf4j
final class RollingReload {

    private final Supervisor supervisor;
    private final FleetEvents events;
    private final Clock clock;
    private final SupervisorQueue loop;
    /**
     * The longest a reload's new worker waits READY before it takes over, whatever {@code min-uptime} says: with 30 s,
     * a PM2 habit, each step took 30 s, scale and replace refused all along (found by an attacking helper). A later
     * exit still fails the reload while it runs ({@link #onGenerationExit}).
     */
    static final Duration MAX_SETTLE = Duration.ofSeconds(10);

    /** How long a replacement stays READY before it takes over: {@code fleet.restart.min-uptime}, {@link #MAX_SETTLE} at most. */
    private final Duration settle;
    /** {@code fleet.worker.startup-timeout}: said when a step's worker starts, as the time it has to get READY. */
    private final Duration startupTimeout;
    private final ArrayDeque<Integer> queue = new ArrayDeque<>();
    private ReloadStatus status = ReloadStatus.IDLE;
    /** The highest generation number given out: each reload takes the next, a failed one's is not used again. */
    private long lastGeneration = 1;
    /** The generation whose spec is the supervisor's current one. */
    private long currentGeneration = 1;
    private final FleetMetrics metrics;
    /** Where the reload, or its rollback, brings the workers: new workers get this generation and spec meanwhile. */
    private long targetGeneration;
    private WorkerSpec targetSpec;
    /** The new worker of the step under way. */
    private Worker stepWorker;
    /**
     * The spec, and its generation, that the last successful reload replaced: what {@link #undo()} goes back to; null
     * before any reload succeeded. Kept in memory only, as {@code kubectl rollout undo} keeps the revisions.
     */
    private WorkerSpec previousSpec;
    private long previousGeneration;
    /** The running (or last) reload was started by {@link #undo()}. */
    private boolean undoing;

    RollingReload(Supervisor supervisor, FleetEvents events, FleetMetrics metrics, Clock clock, SupervisorQueue loop,
                  Duration settle, Duration startupTimeout) {
        this.metrics = metrics;
        this.startupTimeout = startupTimeout;
        this.supervisor = supervisor;
        this.settle = settle;
        this.events = events;
        this.clock = clock;
        this.loop = loop;
    }

    /** The generation a worker spawned now belongs to: a running reload's or rollback's target, else the current one. */
    long spawnGeneration() {
        return busy() ? targetGeneration : currentGeneration;
    }

    /** What a worker spawned now runs, with {@link #spawnGeneration()}. */
    WorkerSpec spawnSpec() {
        return busy() ? targetSpec : supervisor.spec;
    }

    long currentGeneration() {
        return currentGeneration;
    }

    ReloadStatus status() {
        return status;
    }

    /** A failed reload's workers that took over are being replaced back (its status says so). */
    private boolean rollingBack() {
        return status.rollback() == ReloadStatus.Rollback.RUNNING;
    }

    /** Whether {@code generation} is that of a failed reload whose rollback runs. */
    boolean rollingBack(long generation) {
        return rollingBack() && generation == status.generation();
    }

    /** "1 worker", "3 workers". */
    private static String workers(int count) {
        return Plural.of(count, "worker");
    }

    /** A reload runs, or a failed one is being rolled back: the fleet is replacing workers one at a time. */
    boolean busy() {
        return status.running() || rollingBack();
    }

    /**
     * The refusal of a command while {@link #busy()}: what runs, when to {@code retry} (said first: "scale", "replace
     * worker 3") and the way out. A running reload is stopped by its undo; a rollback by killing its worker, which
     * a rollback worker that never gets READY needs, else it holds the fleet for startup-timeout (found by a new user).
     */
    FleetExceptions.FleetConflictException refusal(String retry) {
        if (status.running()) {
            return new FleetExceptions.FleetConflictException("A reload to generation " + status.generation()
                    + " is running (" + status.replaced() + " of " + workers(status.total()) + " replaced); " + retry
                    + " once GET /fleet/reload (shepherd status) shows it finished, or stop it and roll it back with "
                    + "POST /fleet/reload/undo (shepherd reload --undo)");
        }
        Worker step = stepWorker;
        return new FleetExceptions.FleetConflictException("The failed reload to generation " + status.generation()
                + " is being rolled back; " + retry + " once GET /fleet/reload no longer shows \"rollback\": "
                + "\"RUNNING\" (shepherd status: no longer \"being rolled back\")" + (step == null ? ""
                : ". Its worker " + step.id + " is " + step.state() + ": if it never gets READY, POST "
                + "/fleet/workers/" + step.id + "/kill (shepherd kill " + step.id + ") stops it and the rollback"));
    }

    /**
     * Starts a reload to a new generation that runs the spec the last successful reload replaced ({@code kubectl
     * rollout undo}); a second undo goes back again. While a reload runs, stops it instead: its step's worker is
     * stopped and its workers that took over are replaced back, as a failed reload's are ({@code kubectl rollout undo}
     * in the middle of a rollout; Argo Rollouts' {@code abort}); while an undo runs, does nothing, so that an undo
     * asked twice is one. Refused while a rollback runs, and when no reload has succeeded since the master started.
     */
    void undo() {
        if (status.running() && undoing) {
            // Asked again (pressed twice, a retried script, a second operator): the undo runs on. Taken as an undo
            // of the undo, it put the fleet back on the version being escaped, and both said done (found by a new
            // user).
            log.info("Undo asked while the undo to generation {} runs: it runs on", targetGeneration);
            return;
        }
        if (status.running()) {
            // A reload whose new worker never opens its port held the fleet for startup-timeout with no way out but
            // to wait (found by a new user).
            stopStep("undone");
            fail(UNDONE, null, null);
            return;
        }
        if (rollingBack()) {
            throw refusal("undo");
        }
        if (status.state() == ReloadStatus.State.FAILED && status.rollback() == ReloadStatus.Rollback.STOPPED
                && !busy()) {
            // Said as rolled back, it was not: the failed generation's workers served on (found by an attacking helper).
            throw new FleetExceptions.FleetConflictException("The latest reload, to generation " + status.generation()
                    + ", failed, and its rollback stopped part way: the workers of generation " + status.generation()
                    + " that took over keep serving beside generation " + currentGeneration + "'s (GET /fleet says how "
                    + "many). Reload with the spec the fleet should run");
        }
        if (previousSpec == null && !busy()) {
            throw new FleetExceptions.FleetConflictException("No reload that changed the spec has succeeded since the "
                    + "master started: there is no earlier spec to go back to");
        }
        if (status.state() == ReloadStatus.State.FAILED && !busy()) {
            // kubectl's undo gets a user out of a bad rollout; here the failed reload was rolled back already, and an
            // undo went one version further back, from the good one (found by a new user).
            throw new FleetExceptions.FleetConflictException("The latest reload, to generation " + status.generation()
                    + ", failed and was rolled back: the fleet runs generation " + currentGeneration + "'s spec as "
                    + "before it. Undo would go further back, to generation " + previousGeneration + "'s spec ("
                    + furtherBack() + "); to go there, reload with it");
        }
        start(previousSpec, "undo of generation " + currentGeneration + ", back to generation " + previousGeneration
                + "'s spec: ");
    }

    /**
     * The workers to replace that run another spec than the current one, which the reload's "changed" does not speak
     * of: a stopped rollback's ("; and for 1 worker of generation 3, which ran another spec: command"); empty when
     * there are none.
     * After a rollback stopped part way, a plain reload said "changed: nothing" while it replaced those workers (a
     * new user's).
     */
    private String othersGetting(WorkerSpec next) {
        Map<Long, List<Worker>> others = new TreeMap<>();
        supervisor.workers.stream().filter(worker -> queue.contains(worker.id) && !worker.spec.equals(supervisor.spec))
                .forEach(worker -> others.computeIfAbsent(worker.generation, generation -> new ArrayList<>()).add(worker));
        StringBuilder said = new StringBuilder();
        others.forEach((generation, workers) -> said.append("; and for ").append(workers(workers.size()))
                .append(" of generation ").append(generation).append(", which ran another spec: ")
                .append(next.changesFrom(workers.get(0).spec)));
        return said.toString();
    }

    /**
     * How the spec undo goes back to differs from the running one, and its command when that differs: an undo refused
     * after a rolled-back reload named the command alone, the same one when only the environment differed (a new
     * user's).
     */
    private String furtherBack() {
        String differs = "differs from the running one in: " + previousSpec.changesFrom(supervisor.spec);
        return previousSpec.command().equals(supervisor.spec.command()) ? differs
                : differs + "; its command: " + String.join(" ", Secrets.command(previousSpec.command()));
    }

    /** The reason of a reload that {@link #undo()} stopped while it ran. */
    static final String UNDONE = "undone while it ran (POST /fleet/reload/undo, shepherd reload --undo)";

    /** Starts a reload to a new generation that runs {@code next}; refused while {@link #busy()}. */
    void start(WorkerSpec next) {
        start(next, "");
    }

    /** {@code what}: said first in the started event and log line ({@link #undo()}), or empty. */
    private void start(WorkerSpec next, String what) {
        if (status.running()) {
            throw new FleetExceptions.ReloadInProgressException(status);
        }
        if (rollingBack()) {
            throw refusal("reload again");
        }
        targetGeneration = ++lastGeneration;
        targetSpec = next;
        undoing = !what.isEmpty();
        queue.clear();
        supervisor.workers.stream().filter(Worker::holdsSlot).forEach(worker -> queue.add(worker.id));
        status = new ReloadStatus(ReloadStatus.State.RUNNING, targetGeneration, queue.size(), 0, clock.instant(), null,
                null, null);
        String changes = next.changesFrom(supervisor.spec) + othersGetting(next);
        events.add(Type.RELOAD_STARTED, 0, 0, "reload to generation " + targetGeneration + " started: " + what
                + workers(queue.size()) + " to replace; changed: " + changes);
        log.info("Rolling reload to generation {}: {}{} to replace; changed: {}", targetGeneration, what,
                workers(queue.size()), changes);
        step();
    }

    private void step() {
        if (supervisor.stopBegun) {
            // The master's stop has begun: its StopBegun event, queued, fails the reload; nothing more starts.
            return;
        }
        while (!queue.isEmpty()) {
            Worker old = supervisor.find(queue.poll()).orElse(null);
            if (old != null && old.holdsSlot() && old.generation != targetGeneration) {
                // The step's worker is known before it spawns: a spawn that fails at once fails the reload.
                Worker fresh = successorOf(old, targetGeneration, targetSpec);
                stepWorker = fresh;
                supervisor.spawner.spawn(fresh);
                if (stepWorker == fresh) {
                    // Said at once: a worker that never opens its port kept a waiting reload silent for startup-timeout
                    // (found by a new user). A spawn that failed has failed the reload already.
                    // A rollback's worker, of the current spec, takes over at READY; a reload's once READY for settle.
                    String takeOver = rollingBack() || settle.isZero() ? "once READY"
                            : "once READY for " + settle.toMillis() + " ms (fleet.restart.min-uptime)";
                    events.add(Type.RELOAD_STEP, fresh.id, fresh.pid(), (rollingBack() ? "rollback" : "reload")
                            + ": worker " + fresh.id + " (pid " + fresh.pid() + ", generation " + fresh.generation
                            + ") started to replace worker " + old.id + "; it takes over " + takeOver + ", and must be "
                            + "READY within " + startupTimeout.toMillis() + " ms (fleet.worker.startup-timeout)");
                }
                return;
            }
        }
        stepWorker = null;
        if (rollingBack()) {
            status = status.rollback(ReloadStatus.Rollback.FINISHED);
            events.add(Type.RELOAD_STEP, 0, 0, "rollback of generation " + status.generation() + " finished: the fleet "
                    + "runs generation " + currentGeneration + " again");
            log.info("Rollback of generation {} finished: the fleet runs generation {} again", status.generation(),
                    currentGeneration);
            return;
        }
        if (!targetSpec.equals(supervisor.spec)) {
            // A reload of the same spec (a restart) keeps what undo goes back to.
            previousSpec = supervisor.spec;
            previousGeneration = currentGeneration;
        }
        supervisor.spec = targetSpec;
        currentGeneration = targetGeneration;
        status = new ReloadStatus(ReloadStatus.State.SUCCEEDED, targetGeneration, status.total(), status.replaced(),
                status.startedAt(), clock.instant(), null, null);
        // "succeeded", as its state and event type: "finished" is a rollback's end.
        events.add(Type.RELOAD_SUCCEEDED, 0, 0, "reload to generation " + targetGeneration + " succeeded: "
                + workers(status.replaced()) + " replaced");
        log.info("Rolling reload to generation {} succeeded", targetGeneration);
        metrics.countReload(ReloadStatus.State.SUCCEEDED);
    }

    /**
     * Starts a new worker of the current generation to take over from {@code old}, which keeps serving until the new
     * one is READY (replace, recycle; neither runs while {@link #busy()}).
     */
    Worker replace(Worker old) {
        Worker fresh = successorOf(old, currentGeneration, supervisor.spec);
        supervisor.spawner.spawn(fresh);
        return fresh;
    }

    private Worker successorOf(Worker old, long generation, WorkerSpec spec) {
        Worker fresh = supervisor.newWorker(generation, spec, WorkerIndexes.forReplacement(old));
        Worker.replaces(fresh, old);
        return fresh;
    }

    /**
     * A replacement is READY: it takes over at once, or, when it is a reload's new worker (a spec not yet proven),
     * once it has stayed READY for {@code fleet.restart.min-uptime}, the time that tells a worker that ran from one
     * that crashed at once (Kubernetes' {@code minReadySeconds}); both serve meanwhile. Taking over at READY, a reload
     * whose new workers crashed a moment after it drained every good worker, succeeded, and left the fleet DOWN on
     * the new spec (found by an attacking helper). A rollback's, a replace's and a recycle's workers run the current
     * spec, and take over at once.
     */
    void onReady(Worker fresh) {
        Worker old = fresh.replacing();
        if (old != null) {
            SupervisorEvent ready = new SupervisorEvent.SuccessorReady(old, fresh);
            if (settle.isZero() || fresh != stepWorker || rollingBack()) {
                loop.post(ready);
            } else {
                loop.schedule(ready, settle);
            }
        }
    }

    /**
     * {@code fresh} takes over from {@code old}, after it became READY ({@link #onReady}), if it is still READY and
     * still replacing {@code old}: {@code old} leaves the rotation and the fleet (unless it left already), then a
     * reload takes its next step, so that a finished reload has no old worker in the rotation. A replacement that
     * exited meanwhile was rolled back by its exit ({@link #onFailed}).
     */
    void retireReplaced(Worker old, Worker fresh) {
        if (fresh.replacing() != old || fresh.state() != WorkerState.READY) {
            // It is not READY any more (its exit, handled since, rolled the replacement back): the old one serves on.
            return;
        }
        fresh.tookOver();
        // Still in the fleet: an EXITED worker the restart policy left there is removed too.
        if (supervisor.workers.contains(old) && !old.retiring()) {
            supervisor.drains.retire(old, "replaced by worker " + fresh.id);
        }
        Worker inherited = old.replacing();
        if (inherited != null) {
            // old was replacing a worker itself and never took over: fresh takes that worker's slot too, or old's exit
            // would give it back to it beside fresh (one index twice, and a reload's old generation left serving).
            old.replacementFailed();
            if (supervisor.workers.contains(inherited) && !inherited.retiring()) {
                supervisor.drains.retire(inherited, "replaced by worker " + fresh.id);
            }
        }
        if (fresh == stepWorker) {
            if (rollingBack()) {
                events.add(Type.RELOAD_STEP, fresh.id, fresh.pid(), "rollback: worker " + old.id + " (generation "
                        + old.generation + ") replaced by worker " + fresh.id + " (generation " + fresh.generation + ")");
            } else {
                status = new ReloadStatus(ReloadStatus.State.RUNNING, targetGeneration, status.total(),
                        status.replaced() + 1, status.startedAt(), null, null, null);
                events.add(Type.RELOAD_STEP, fresh.id, fresh.pid(), "reload: worker " + old.id + " replaced by worker "
                        + fresh.id + " (" + status.replaced() + " of " + status.total() + ")");
            }
            step();
        }
    }

    /**
     * The new worker ended ({@code cause}, {@code exit}) before it took over: the old one holds its slot again; a
     * reload stops there and rolls back.
     */
    void onFailed(Worker fresh, ExitCause cause, WorkerExit exit) {
        Worker old = fresh.replacing();
        fresh.replacementFailed();
        if (fresh == stepWorker) {
            ReloadProblem problem = ReloadProblem.of(fresh, cause, exit);
            fail(problem.detail(), problem, fresh);
        } else {
            log.warn("Replacement of worker {} failed ({}); it keeps serving", old == null ? "?" : old.id,
                    TerminalText.safe(ReloadProblem.of(fresh, cause, exit).detail()));
            if (busy() && old != null && old.generation != targetGeneration) {
                // Started before this reload, so not in its queue: the old worker holds its slot again, replace it too.
                queue.add(old.id);
            }
        }
    }

    /**
     * A worker exited on its own ({@code cause}, {@code exit}) after it took over, and is restarted or left exited: when
     * it belongs to the generation a running reload brings in, the new spec is failing, and the reload fails and rolls
     * back now. Gating each step's worker for {@code min-uptime} alone let a spec whose workers crash 0.2 to 3 s after
     * READY succeed in one of three six-worker reloads, the crashes of the workers that had taken over counted as
     * ordinary restarts (found by an attacking helper). A step's worker still starting is stopped: its old worker holds
     * its slot again.
     */
    void onGenerationExit(Worker worker, ExitCause cause, WorkerExit exit) {
        if (!status.running() || rollingBack() || worker.generation != targetGeneration) {
            return;
        }
        if (stepWorker != worker) {
            stopStep("failed");
        }
        ReloadProblem problem = ReloadProblem.of(worker, cause, exit, true);
        fail(problem.detail(), problem, null);
    }

    /**
     * The running reload's step worker, still starting or not yet taken over, is stopped; its old worker holds its slot
     * again. {@code how}: "failed", "undone", said as the reason it stops.
     */
    private void stopStep(String how) {
        Worker step = stepWorker;
        if (step != null && step.replacing() != null) {
            step.replacementFailed();
            supervisor.drains.retire(step, "reload to generation " + targetGeneration + " " + how);
        }
    }

    /** The master shuts down: a reload stops where it is, with no rollback. */
    void cancel(String reason) {
        if (status.running()) {
            fail(reason, null, null);
        }
        if (rollingBack()) {
            status = status.rollback(ReloadStatus.Rollback.STOPPED);
            events.add(Type.RELOAD_STEP, 0, 0, "rollback of generation " + status.generation() + " stopped: " + reason);
        }
        queue.clear();
        stepWorker = null;
    }

    /** {@code failed}: the new worker that failed, which leaves the fleet next; null when none did. */
    private void fail(String reason, ReloadProblem problem, Worker failed) {
        queue.clear();
        stepWorker = null;
        if (rollingBack()) {
            status = status.rollback(ReloadStatus.Rollback.STOPPED);
            // Not tried again: the old spec failed now too, so something beyond the spec is wrong; the fleet serves
            // with both generations until the operator reloads.
            events.add(Type.RELOAD_STEP, failed == null ? 0 : failed.id, failed == null ? 0 : failed.pid(), "rollback of "
                    + "generation " + status.generation() + " stopped: " + reason + "; its workers that took over keep serving");
            log.warn("Rollback of generation {} stopped: {}; its workers that took over keep serving", status.generation(),
                    TerminalText.safe(reason));
            return;
        }
        long generation = targetGeneration;
        // The workers of the failed generation that took over (all but failed), replaced back by current ones.
        if (!supervisor.shuttingDown && !supervisor.stopBegun) {
            supervisor.workers.stream().filter(worker -> worker.generation == generation && worker != failed
                    && worker.holdsSlot()).forEach(worker -> queue.add(worker.id));
        }
        int rollback = queue.size();
        status = new ReloadStatus(ReloadStatus.State.FAILED, generation, status.total(), status.replaced(),
                status.startedAt(), clock.instant(), reason, problem,
                rollback > 0 ? ReloadStatus.Rollback.RUNNING : ReloadStatus.Rollback.NONE);
        if (!supervisor.shuttingDown && !supervisor.stopBegun) {
            // A reload the master's shutdown ended is no failed deploy (a reviewing helper's).
            metrics.countReload(ReloadStatus.State.FAILED);
        }
        events.add(Type.RELOAD_FAILED, 0, 0, "reload to generation " + generation + " failed"
                + (rollback > 0 ? " and is rolled back (" + workers(rollback) + " to replace)" : "") + ": " + reason);
        // The reason quotes the worker's last lines: shown in caret notation, as every line of its output is.
        log.warn("Rolling reload to generation {} failed: {}; the fleet keeps the spec of generation {}", generation,
                TerminalText.safe(reason), currentGeneration);
        if (rollback > 0) {
            log.info("Rolling back {} of generation {} to generation {}", workers(rollback), generation, currentGeneration);
            targetGeneration = currentGeneration;
            targetSpec = supervisor.spec;
            step();
        }
    }
}
