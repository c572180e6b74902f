package dev.shepherd.fleet;

import dev.shepherd.fleet.FleetEvent.Type;
import dev.shepherd.fleet.SupervisorEvent.Timer;
import dev.shepherd.fleet.SupervisorEvent.TimerFired;
import dev.shepherd.worker.ChildProcess;
import dev.shepherd.worker.WorkerState;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * How a worker leaves: retire (for good), drain (out of rotation, its requests and tunnels finish, at most
 * {@code fleet.worker.drain-timeout}; its sticky sessions' requests still come for the first half of it), stop (the stop signal, then KILL of the tree after
 * {@code fleet.worker.kill-timeout}). Runs on the supervisor's thread; every state change through {@link Worker#moveTo}.
 */
final class Drains {

    /** How often a draining worker's requests and tunnels are counted. */
    private static final Duration DRAIN_POLL = Duration.ofMillis(20);

    private final FleetProperties properties;
    private final Clock clock;
    private final SupervisorQueue loop;
    private final Supervisor supervisor;

    Drains(FleetProperties properties, Clock clock, SupervisorQueue loop, Supervisor supervisor) {
        this.properties = properties;
        this.clock = clock;
        this.loop = loop;
        this.supervisor = supervisor;
    }

    /** Takes a worker out for good: drains it when it serves, stops it when it runs, removes it otherwise. */
    void retire(Worker worker, String reason) {
        worker.retire();
        switch (worker.state()) {
            case READY -> drain(worker, reason);
            case STARTING -> stop(worker, reason, ExitCause.STOPPED);
            case BACKOFF, FAILED -> {
                worker.moveTo(WorkerState.EXITED);
                supervisor.remove(worker, reason);
            }
            case EXITED -> supervisor.remove(worker, reason);
            case DRAINING, STOPPING -> worker.alsoAskedToStop(reason);
        }
    }

    private void drain(Worker worker, String reason) {
        Duration tunnelWindow = tunnelDrainWindow();
        worker.draining(reason, clock.instant().plus(properties.worker().drainTimeout()), clock.instant().plus(tunnelWindow));
        int tunnels = worker.endpoint().tunnels();
        worker.moveTo(WorkerState.DRAINING, Type.DRAINING, "worker " + worker.id + " draining (" + reason + "), "
                + worker.endpoint().inFlight() + " in flight" + (tunnels == 0 ? "" : ", " + tunnels
                + " tunnels closed over " + tunnelWindow.toMillis() + " ms"));
        worker.endpoint().closeTunnels(tunnelWindow);
        checkDrained(worker, worker.process());
    }

    void checkDrained(Worker worker, ChildProcess process) {
        if (worker.state() != WorkerState.DRAINING) {
            return;
        }
        Instant now = clock.instant();
        if (worker.endpoint().isDraining()
                && !now.isBefore(worker.drainDeadline().minus(properties.worker().drainTimeout().dividedBy(2)))) {
            // Half the drain is over: its sticky sessions move on, so that the requests in flight can finish in the
            // other half. Under steady sticky traffic the worker never ran out of requests, and the timeout cut those
            // in flight (a POST got a 502 at every scale-down; found by an attacking helper).
            worker.endpoint().endSticky();
        }
        boolean requestsDone = worker.endpoint().drained();
        if (!requestsDone && !now.isBefore(worker.drainDeadline())) {
            // Past the drain timeout its requests are given up on: no new sticky one while its tunnels still close.
            worker.endpoint().stopAccepting();
            requestsDone = true;
        }
        boolean tunnelsDone = worker.endpoint().tunnels() == 0;
        if (!tunnelsDone && !now.isBefore(worker.tunnelDeadline())) {
            // A tunnel whose moment has not come (its timer late on a busy event loop) goes away now, with its close
            // frame, rather than get a bare close from the stop signal; it has CLOSE_WAIT for that.
            worker.endpoint().closeTunnels(Duration.ZERO);
            tunnelsDone = worker.endpoint().tunnels() == 0
                    || !now.isBefore(worker.tunnelDeadline().plus(Endpoint.TUNNEL_CLOSE_WAIT));
        }
        if (requestsDone && tunnelsDone) {
            stop(worker, worker.stopReason(), ExitCause.STOPPED);
        } else {
            worker.arm(loop.schedule(new TimerFired(worker, process, Timer.DRAIN_CHECK), DRAIN_POLL));
        }
    }

    /**
     * The window over which a draining worker's tunnels are closed: {@code fleet.proxy.tunnel.drain-timeout}, within
     * {@code fleet.worker.drain-timeout} when the master shuts down (it has that long in all).
     */
    private Duration tunnelDrainWindow() {
        Duration window = properties.proxy().tunnel().drainTimeout();
        Duration shutdown = properties.worker().drainTimeout();
        return supervisor.shuttingDown && shutdown.compareTo(window) < 0 ? shutdown : window;
    }

    /** Sends the stop signal, and KILLs the tree when the worker outlives the kill timeout; its exit has {@code cause}. */
    void stop(Worker worker, String reason, ExitCause cause) {
        ChildProcess process = worker.process();
        worker.stopping(reason, cause);
        String signal = properties.worker().stopSignal();
        worker.moveTo(WorkerState.STOPPING, Type.STOPPING, "worker " + worker.id + " stopping with " + signal + " (" + reason + ")");
        // A worker hung by SIGSTOP would wait out the kill timeout, its slot empty (found by an attacking helper).
        process.signalExit(signal);
        worker.arm(loop.schedule(new TimerFired(worker, process, Timer.KILL_TIMEOUT), properties.worker().killTimeout()));
    }
}
