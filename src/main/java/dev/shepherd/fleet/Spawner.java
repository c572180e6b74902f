package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.Ejected;
import dev.shepherd.fleet.SupervisorEvent.OutputGraceOver;
import dev.shepherd.fleet.SupervisorEvent.ProcessExited;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.OutOfThreads;
import dev.shepherd.worker.WorkerState;
import lombok.extern.slf4j.Slf4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * How a worker comes in: spawn a process on a free port with its endpoint, watch its exit and its startup, and
 * move it into the rotation when its readiness probe passes. Runs on the supervisor's thread, which the processes'
 * parent-death signal follows.
 */
@Slf4j
final class Spawner {

    /** How long the exit of a worker that never served waits for the rest of its output (a descendant holds the pipe). */
    static final Duration OUTPUT_GRACE = Duration.ofMillis(200);

    private final FleetProperties properties;
    private final Clock clock;
    private final SupervisorQueue loop;
    private final ProcessLauncher launcher;
    private final LaunchSpecs launchSpecs;
    private final HealthChecks healthChecks;
    private final FleetEvents events;
    private final FleetMetrics metrics;
    private final Recycler recycler;
    private final Exits exits;
    private final Runnable slotFreed;
    private final Supervisor supervisor;

    /** How many ports {@link #freePort} picks before it gives up on finding one that no worker holds. */
    static final int PORT_PICKS = 16;

    Spawner(FleetProperties properties, Clock clock, SupervisorQueue loop, ProcessLauncher launcher, LaunchSpecs launchSpecs,
            HealthChecks healthChecks, FleetEvents events, FleetMetrics metrics, Recycler recycler, Exits exits,
            Runnable slotFreed, Supervisor supervisor) {
        this.properties = properties;
        this.clock = clock;
        this.loop = loop;
        this.launcher = launcher;
        this.launchSpecs = launchSpecs;
        this.healthChecks = healthChecks;
        this.events = events;
        this.metrics = metrics;
        this.recycler = recycler;
        this.exits = exits;
        this.slotFreed = slotFreed;
        this.supervisor = supervisor;
    }

    /** Starts a process for a worker in STARTING state. */
    void spawn(Worker worker) {
        int port;
        ChildProcess process;
        try {
            // Out of descriptors, no port can be picked either: a spawn failure like any other, retried with backoff.
            port = freePort();
            process = launcher.launch(worker.id, launchSpecs.forWorker(worker.spec, worker.id, worker.index, supervisor.desired, port), worker.logs);
        } catch (IOException | RuntimeException ex) {
            exits.couldNotStart(worker, ex.getMessage());
            return;
        } catch (OutOfMemoryError ex) {
            // A thread the launch needed could not start: a spawn failure, retried with backoff, and not left to end
            // the supervisor's task with the worker STARTING and no process (found by an attacking helper).
            exits.couldNotStart(worker, ex.getMessage() + (OutOfThreads.causedIt(ex) ? " (" + OutOfThreads.LIMITS + ")" : ""));
            return;
        }
        Endpoint endpoint = new Endpoint(worker.id, worker.index, process.handle(), port,
                properties.worker().maxConcurrency(), () -> loop.post(new Ejected(worker, process)), slotFreed);
        int outlierThreshold = properties.proxy().outlierDetection().consecutive5xx();
        if (outlierThreshold > 0) {
            endpoint.watchOutliers(outlierThreshold, () -> loop.post(new SupervisorEvent.Outlier(worker, process)));
        }
        worker.started(process, port, endpoint, recycler.requestLimit());
        events.add(Type.SPAWNED, worker.id, process.pid(), "worker " + worker.id + " spawned as pid " + process.pid()
                + " on port " + port + " (index " + worker.index + ", generation " + worker.generation + ")");
        process.onExit().whenComplete((code, error) -> {
            endpoint.stopAccepting();
            // Its tunnels' clients must learn at once, not when their next write fails.
            endpoint.closeTunnels(Duration.ZERO);
            ProcessExited exited = new ProcessExited(worker, process, code == null ? -1 : code);
            if (endpoint.everInRotation()) {
                // It served: its exit is handled at once, as its requests' retries and replacement wait on it, and
                // its last lines are read again once its output has ended (or after OUTPUT_GRACE): read at once, 4
                // of 26 crashes quoted a line before the last, and a process whose descendant held the pipe never
                // its unended last line (found by a misbehaving-worker helper).
                loop.post(exited);
                onceOutputEnded(process, new SupervisorEvent.ExitOutputRead(worker, process));
                return;
            }
            // It never served (it died starting: a bad reload, a crash loop), so nothing waits on its exit but its
            // reason, which quotes its last lines: handed over once its output is read to the end, or after
            // OUTPUT_GRACE when a descendant holds the pipe. Meanwhile no probe makes it READY (it is not alive).
            onceOutputEnded(process, exited);
        });
        healthChecks.watchStartup(worker, process);
    }

    /**
     * Posts {@code event} once: when {@code process}'s output has been read to its end, or {@link #OUTPUT_GRACE}
     * after now when a descendant holds the pipe, whichever comes first.
     */
    private void onceOutputEnded(ChildProcess process, SupervisorEvent event) {
        AtomicBoolean posted = new AtomicBoolean();
        Runnable post = () -> {
            if (posted.compareAndSet(false, true)) {
                loop.post(event);
            }
        };
        process.outputEnded().whenComplete((ended, failure) -> post.run());
        if (!posted.get()) {
            loop.schedule(new OutputGraceOver(post), OUTPUT_GRACE);
        }
    }

    /**
     * A free port that no worker's process holds: one that is STARTING has not bound its port yet, so the kernel
     * may offer it again (found by an attacking helper: two of 64 workers spawned on one port, and the second failed
     * with "Address already in use"; two programs that bind with {@code SO_REUSEPORT} would have shared it, each
     * answering the other's probes and requests). At most {@link #PORT_PICKS} picks.
     *
     * @throws UncheckedIOException when no port can be picked, or every pick is held
     */
    private int freePort() {
        Set<Integer> held = supervisor.workers.stream().filter(worker -> worker.process() != null
                && worker.state().hasProcess()).map(Worker::port).collect(Collectors.toSet());
        for (int pick = 0; pick < PORT_PICKS; pick++) {
            int port = launcher.freePort();
            if (!held.contains(port)) {
                return port;
            }
        }
        String why = "no free loopback port for it: " + PORT_PICKS + " picked, each held by another worker";
        throw new UncheckedIOException(why, new IOException(why));
    }

    /** The readiness probe passed: into the rotation. */
    void ready(Worker worker) {
        Duration startup = Duration.between(worker.process().startedAt(), clock.instant());
        worker.moveTo(WorkerState.READY, Type.READY, "worker " + worker.id + " (pid " + worker.pid() + ") is READY after "
                + startup.toMillis() + " ms");
        worker.becameReady(clock.instant());
        metrics.recordStartup(startup);
        log.info("Worker {} (pid {}) is READY on port {} after {} ms", worker.id, worker.pid(), worker.port(), startup.toMillis());
        supervisor.reload.onReady(worker);
    }
}
