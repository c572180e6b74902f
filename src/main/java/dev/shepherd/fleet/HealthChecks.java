package dev.shepherd.fleet;

import dev.shepherd.TerminalText;
import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.ProbeFailed;
import dev.shepherd.fleet.SupervisorEvent.ProbeKind;
import dev.shepherd.fleet.SupervisorEvent.ProbePassed;
import dev.shepherd.fleet.SupervisorEvent.StartupTimedOut;
import dev.shepherd.fleet.SupervisorEvent.Timer;
import dev.shepherd.fleet.SupervisorEvent.TimerFired;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Readiness while a worker starts (with its startup timeout), liveness while it serves, and the ejection of a
 * worker that refuses connections. Probes run elsewhere; their results come back as {@link ProbePassed} and
 * {@link ProbeFailed} events, and every state change goes through the {@link Supervisor}. Runs on the supervisor's
 * thread, called by its dispatch, which has dropped the events about processes no longer current.
 */
@Slf4j
final class HealthChecks {

    private final FleetProperties properties;
    private final SupervisorQueue loop;
    private final HealthProbe readiness;
    private final HealthProbe liveness;
    private final FleetEvents events;
    private final Supervisor supervisor;
    private final Clock clock;
    /** The last worker stopped for failing its liveness probe, until it is READY again; null: none. */
    private Worker livenessStopped;

    HealthChecks(FleetProperties properties, SupervisorQueue loop, HealthProbe readiness, HealthProbe liveness, FleetEvents events,
                 Supervisor supervisor, Clock clock) {
        this.properties = properties;
        this.loop = loop;
        this.readiness = readiness;
        this.liveness = liveness;
        this.events = events;
        this.supervisor = supervisor;
        this.clock = clock;
    }

    /** Probes a new process until it is READY, and kills it if it is not by the startup timeout. */
    void watchStartup(Worker worker, ChildProcess process) {
        worker.armStartupTimeout(loop.schedule(new StartupTimedOut(worker, process), properties.worker().startupTimeout()));
        probeReadiness(worker, process);
    }

    void probeReadiness(Worker worker, ChildProcess process) {
        if (worker.state() == WorkerState.STARTING) {
            int port = worker.port();
            readiness.check(port, worker.spec.readinessPath())
                    .thenApply(result -> result.ok() && properties.readiness().portOwnerCheck()
                            ? ownPort(worker, process, port, true) : result)
                    .thenAccept(result -> loop.post(outcome(worker, process, ProbeKind.READINESS, result,
                            result.refused() ? listenHint(worker, process, port) : null)));
        }
    }

    /**
     * On the probe's thread, after a refused readiness probe: why, where the worker's processes listen
     * ({@link ListenHint}), as soon as it can be seen rather than at the startup timeout; null when nothing tells.
     * Reads a bounded part of /proc ({@link ChildProcess#listeningSockets}) at each refused probe of a STARTING
     * worker: a few small files, as most trees listen on a few sockets.
     */
    private static ListenHint listenHint(Worker worker, ChildProcess process, int port) {
        try {
            return ListenHint.of(port, process.listeningSockets()).orElse(null);
        } catch (RuntimeException ex) {
            log.debug("Could not tell where worker {} listens", worker.id, ex);
            return null;
        }
    }

    /**
     * After a passed probe, on the probe's thread: whether what answered was the worker, and not a process outside
     * its tree that bound its port first ({@link ChildProcess#foreignListener}). That one would get the slot's
     * traffic, and the worker would crash on its bind, restart on a new port and have that one taken too. Once READY,
     * a process that joined the port ({@code SO_REUSEPORT} beside a worker that sets it, as gunicorn's
     * {@code --reuse-port}) gets connections the kernel gives it, all of them on an address more exact than the
     * worker's (found by an attacking helper). {@code ownRequired}: a port nothing listens on any more fails too
     * (a socket closed while answering, to pass the check, and bound again); not once READY, where a worker may
     * reopen its own.
     */
    private static Probe.Result ownPort(Worker worker, ChildProcess process, int port, boolean ownRequired) {
        Optional<String> foreign;
        try {
            foreign = process.foreignListener(port);
        } catch (RuntimeException ex) {
            log.debug("Could not tell who listens on port {}", port, ex);
            return Probe.Result.OK;
        }
        if (foreign.isEmpty() || !ownRequired && foreign.get().equals(ChildProcess.NO_LISTENER)) {
            return Probe.Result.OK;
        }
        return new Probe.Result(false, "port " + port + " is listened on by " + foreign.get() + ", not by a process of "
                + "worker " + worker.id + PORT_TAKEN);
    }

    /** How a probe's failure for a port another process holds ends. */
    private static final String PORT_TAKEN = ": another process took it (fleet.readiness.port-owner-check=false allows it)";

    private static SupervisorEvent outcome(Worker worker, ChildProcess process, ProbeKind probe, Probe.Result result) {
        return outcome(worker, process, probe, result, null);
    }

    private static SupervisorEvent outcome(Worker worker, ChildProcess process, ProbeKind probe, Probe.Result result,
                                           ListenHint hint) {
        return result.ok() ? new ProbePassed(worker, process, probe)
                : new ProbeFailed(worker, process, probe, result.detail(), result.inconclusive(), hint);
    }

    void passed(ProbePassed passed) {
        Worker worker = passed.worker();
        if (passed.probe() == ProbeKind.LIVENESS) {
            livenessPassed(worker);
        } else if (worker.state() == WorkerState.STARTING && passed.process().isAlive()) {
            // A process that has died (its exit not handed over yet) is never made READY, whatever answered.
            supervisor.spawner.ready(worker);
        }
    }

    void failed(ProbeFailed failed) {
        Worker worker = failed.worker();
        if (failed.probe() == ProbeKind.LIVENESS && failed.inconclusive()) {
            worker.probing(false);
            log.warn("Worker {} (pid {}) could not be probed, not counted as a failure: {}", worker.id,
                    failed.process().pid(), TerminalText.safe(failed.detail()));
        } else if (failed.probe() == ProbeKind.LIVENESS) {
            livenessFailed(worker, failed.process(), failed.detail());
        } else if (worker.state() == WorkerState.STARTING) {
            if (failed.detail().endsWith(PORT_TAKEN) && !failed.detail().equals(worker.lastReadinessFailure())) {
                // Once, not at every probe until the startup timeout.
                log.warn("Worker {} (pid {}) is not READY: {}", worker.id, failed.process().pid(),
                        TerminalText.safe(failed.detail()));
            } else if (pathNotServed(failed.detail()) && !failed.detail().equals(worker.lastReadinessFailure())) {
                // An app with no /health (most apps started as pm2 start app.js) said nothing of it until the
                // startup timeout, a minute of 503s later (found by a new user's attack).
                log.warn("Worker {} (pid {}) is not READY: its readiness probe {}{}", worker.id,
                        failed.process().pid(), TerminalText.safe(failed.detail()), PATH_HINT);
            } else if (failed.listenHint() != null && logListenHint(worker, failed.process(), failed.listenHint())) {
                log.warn("Worker {} (pid {}) is not READY: its readiness probe {}{}", worker.id,
                        failed.process().pid(), TerminalText.safe(failed.detail()), failed.listenHint().clause());
            }
            worker.readinessFailed(failed.detail(), failed.listenHint() == null ? null : failed.listenHint().clause());
            worker.arm(loop.schedule(new TimerFired(worker, failed.process(), Timer.READINESS_RETRY),
                    properties.readiness().interval()));
        }
    }

    /**
     * Whether the master's log tells {@code hint} now: once per process, at once when it holds for good, else once the
     * process has been starting for {@link #LISTEN_HINT_HOLD} (a Java debugger's or a Node inspector's port is bound
     * before the app's own; {@code shepherd ls} shows it meanwhile).
     */
    private boolean logListenHint(Worker worker, ChildProcess process, ListenHint hint) {
        if (!hint.conclusive() && Duration.between(process.startedAt(), clock.instant()).compareTo(LISTEN_HINT_HOLD) < 0) {
            return false;
        }
        return worker.firstListenHintLog();
    }

    /** How long a worker listening on other ports than its PORT starts before the master's log says so. */
    static final Duration LISTEN_HINT_HOLD = Duration.ofSeconds(5);

    /** What to do about a readiness path the app does not serve. */
    static final String PATH_HINT = "; set fleet.readiness.path to a path it answers with 2xx (/, say), or to empty "
            + "for a TCP connect";

    private static final Pattern CLIENT_ERROR = Pattern.compile("GET .* answered 4\\d\\d");

    /** Whether a probe's failure is a 4xx: the app serves no such path (404), or not to a probe (401, 403, 405). */
    static boolean pathNotServed(String detail) {
        return detail != null && CLIENT_ERROR.matcher(detail).matches();
    }

    void startupTimedOut(Worker worker, ChildProcess process) {
        if (worker.state() != WorkerState.STARTING || !process.isAlive()) {
            // Dead already: its exit, with its own code, is on its way.
            return;
        }
        // What the probe saw, as Kubernetes' "Readiness probe failed: ..." says it: a wrong path's 404, a port never
        // bound, a 503 of its own (found by a new user's attack: the reason said none of it).
        String last = worker.lastReadinessFailure();
        String reason = "not READY within " + properties.worker().startupTimeout().toMillis() + " ms"
                + (last == null ? "" : " (last readiness probe: " + last + (pathNotServed(last) ? PATH_HINT : "") + ")")
                + (last == null || worker.readinessHint() == null ? "" : worker.readinessHint());
        worker.stopping(reason, ExitCause.STARTUP_TIMEOUT);
        worker.moveTo(WorkerState.STOPPING, Type.STARTUP_TIMEOUT, "worker " + worker.id + " " + reason + "; killed");
        process.killTree();
    }

    /** One liveness round over the serving workers; called periodically. */
    void probeLiveness(List<Worker> workers) {
        for (Worker worker : workers) {
            if ((worker.state() == WorkerState.READY || worker.state() == WorkerState.DRAINING) && !worker.probing()) {
                ChildProcess process = worker.process();
                worker.probing(true);
                int port = worker.port();
                boolean owner = properties.readiness().portOwnerCheck() && worker.state() == WorkerState.READY
                        && worker.portOwnerCheckDue();
                liveness.check(port, properties.liveness().path())
                        .thenApply(result -> owner && result.ok() ? ownPort(worker, process, port, false) : result)
                        .thenAccept(result -> loop.post(outcome(worker, process, ProbeKind.LIVENESS, result)));
            }
        }
    }

    private void livenessPassed(Worker worker) {
        worker.probing(false);
        if (worker.state() != WorkerState.READY && worker.state() != WorkerState.DRAINING) {
            return;
        }
        worker.livenessPassed();
        if (worker.readmit()) {
            log.info("Worker {} answers its probe again; back in rotation", worker.id);
        }
    }

    private void livenessFailed(Worker worker, ChildProcess process, String detail) {
        worker.probing(false);
        if (worker.state() != WorkerState.READY && worker.state() != WorkerState.DRAINING) {
            return;
        }
        if (detail.endsWith(PORT_TAKEN)) {
            // Replaced at once: its slot moves to a port of its own again, and the other process gets no more of
            // the proxy's traffic. Not a hang, but found by the liveness round, and counted with it.
            String reason = "its port is no longer its own: " + detail;
            log.warn("Worker {} (pid {}) is stopped: {}", worker.id, process.pid(), TerminalText.safe(reason));
            events.add(Type.LIVENESS_FAILED, worker.id, process.pid(), "worker " + worker.id + " " + reason);
            supervisor.drains.stop(worker, reason, ExitCause.HUNG);
            return;
        }
        int failures = worker.livenessFailed();
        int threshold = properties.liveness().failureThreshold();
        long answered = worker.answeredSinceLastProbe();
        log.warn("Worker {} (pid {}) failed its liveness probe ({} of {}): {}", worker.id, process.pid(),
                failures, threshold, TerminalText.safe(detail));
        if (failures >= threshold && answered > 0) {
            // Liveness is for a hung process. One that still answers requests is busy (its probe queued behind
            // them under overload): killing it would take its capacity when it is most needed, and every worker
            // overloaded alike would go at once (an attack saw both killed in the same 5 ms, then no worker READY).
            log.warn("Worker {} (pid {}) is not stopped: it answered {} requests (below 500) since its last probe; busy, "
                    + "not hung",
                    worker.id, process.pid(), answered);
            return;
        }
        if (failures >= threshold && failures < 2 * threshold && anotherComingBack(worker)) {
            // One at a time, as a rolling restart goes: what makes every worker's probe fail at once (a slow shared
            // dependency, bodies trickling into every thread) is rarely cured by killing them all, and doing so
            // leaves no worker at all until the first is back. For as many probes again at most: one that does
            // not come back must not keep a hung worker in rotation for ever.
            log.warn("Worker {} (pid {}) is not stopped yet: worker {}, stopped for its liveness, is not READY again",
                    worker.id, process.pid(), livenessStopped.id);
            return;
        }
        if (failures >= threshold) {
            livenessStopped = worker;
            String reason = "liveness probe failed " + worker.livenessFailures() + " times: " + detail;
            events.add(Type.LIVENESS_FAILED, worker.id, process.pid(), "worker " + worker.id + " " + reason);
            supervisor.drains.stop(worker, reason, ExitCause.HUNG);
        }
    }

    /**
     * Whether a worker other than {@code worker}, stopped for its liveness, is still on its way back: in the fleet,
     * neither READY again nor FAILED (crash-looping or unable to start, when waiting for it would be for ever).
     */
    private boolean anotherComingBack(Worker worker) {
        Worker stopped = livenessStopped;
        if (stopped == null || stopped == worker || !supervisor.workers.contains(stopped)
                || stopped.state() == WorkerState.READY || stopped.state() == WorkerState.FAILED) {
            livenessStopped = null;
            return false;
        }
        return true;
    }

    /**
     * The proxy saw the worker fail {@code consecutive-5xx} answers in a row: it leaves the rotation for its ejection
     * time (Envoy's outlier ejection), unless it is the last worker in rotation or the ejected ones are at
     * {@code max-ejection-percent} already (the first is always allowed); then its run of failures starts over.
     */
    void outlier(Worker worker, ChildProcess process) {
        Endpoint endpoint = worker.endpoint();
        if (worker.state() != WorkerState.READY || endpoint == null || !endpoint.isAccepting()) {
            // Out of rotation already (draining, ejected after refusals): nothing to take away; a readmission resets it.
            return;
        }
        FleetProperties.OutlierDetection detection = properties.proxy().outlierDetection();
        long ready = supervisor.workers.stream().filter(other -> other.state() == WorkerState.READY).count();
        long ejected = supervisor.workers.stream().filter(other -> other.state() == WorkerState.READY && other.outlierEjected()).count();
        long othersInRotation = supervisor.workers.stream().filter(other -> other != worker && other.state() == WorkerState.READY
                && other.endpoint() != null && other.endpoint().isAccepting()).count();
        String failures = "worker " + worker.id + " failed " + detection.consecutive5xx() + " requests in a row (5xx or no answer)";
        if (othersInRotation == 0 || (ejected > 0 && (ejected + 1) * 100 > detection.maxEjectionPercent() * ready)) {
            int times = worker.outlierNotEjected();
            if (Integer.bitCount(times) == 1) {
                // The 1st, 2nd, 4th, 8th... time: a fleet failing every request must not flood the log at its rate.
                log.warn("{}; not ejected ({} time{} for this process): {}", failures, times, times == 1 ? "" : "s",
                        othersInRotation == 0 ? "it is the last worker in rotation" : ejected + " of " + ready
                                + " READY workers are ejected already (max-ejection-percent "
                                + detection.maxEjectionPercent() + ")");
            }
            endpoint.outlierJudged(false);
            return;
        }
        worker.ejectedAsOutlier();
        Duration time = detection.ejectionTime(worker.outlierEjections());
        events.add(Type.EJECTED, worker.id, process.pid(), failures + "; out of rotation for " + time.toMillis()
                + " ms (ejection " + worker.outlierEjections() + ")");
        log.warn("{}; out of rotation for {} ms (pid {}, ejection {})", failures, time.toMillis(), process.pid(),
                worker.outlierEjections());
        worker.arm(loop.schedule(new TimerFired(worker, process, Timer.EJECTION_OVER), time));
    }

    /**
     * At the end of every supervisor event: when no READY worker is in rotation any more (the others were scaled down,
     * replaced or died since) but some are out as outliers, their ejections end now, as the rule that the last worker
     * in rotation is never ejected asks (Envoy routes to every host in such a "panic"); failures start a new run.
     */
    void keepOneInRotation() {
        boolean inRotation = false;
        boolean ejected = false;
        for (Worker worker : supervisor.workers) {
            if (worker.state() == WorkerState.READY) {
                inRotation |= worker.endpoint() != null && worker.endpoint().isAccepting();
                ejected |= worker.outlierEjected();
            }
        }
        if (inRotation || !ejected) {
            return;
        }
        for (Worker worker : supervisor.workers) {
            if (worker.state() == WorkerState.READY && worker.ejectionOver()) {
                log.warn("Worker {}'s ejection ends early: no other worker is in rotation", worker.id);
            }
        }
    }

    /** An outlier's ejection time is over: it is back in rotation, and its answers are counted from zero. */
    void ejectionOver(Worker worker) {
        if (worker.ejectionOver()) {
            log.info("Worker {}'s ejection is over; back in rotation", worker.id);
        }
    }

    /**
     * The proxy took a worker out of rotation. A dead process's exit follows; a live one refused connections: probe
     * it now, so a good answer brings it back.
     */
    void ejected(Worker worker, ChildProcess process) {
        // A process that has exited, reaped or not (the proxy ejects a zombie at once), is told by its exit.
        Endpoint endpoint = worker.endpoint();
        if (worker.state() == WorkerState.READY && process.isAlive() && (endpoint == null || !endpoint.exited())) {
            events.add(Type.EJECTED, worker.id, process.pid(), "worker " + worker.id + " refused connections "
                    + Endpoint.EJECT_AFTER_REFUSALS + " times in a row; out of rotation until a probe succeeds");
            log.warn("Worker {} (pid {}) refused connections {} times in a row; out of rotation until a probe succeeds",
                    worker.id, process.pid(), Endpoint.EJECT_AFTER_REFUSALS);
            // Only this worker: an extra probe of the others would count their liveness failures faster.
            probeLiveness(List.of(worker));
        }
    }
}
