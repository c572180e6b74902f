package dev.shepherd.proxy;

import dev.shepherd.fleet.Balancer;
import dev.shepherd.fleet.Endpoint;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Which READY worker takes an attempt ({@code fleet.proxy.balancer}): round-robin, or least-request (Envoy's
 * {@code LEAST_REQUEST}: the less busy of two). Lock-free and allocation-free: one shared counter, the workers'
 * own in-flight counts, and {@link ThreadLocalRandom}. Any thread.
 */
final class WorkerChoice {

    private final boolean leastRequest;
    private final AtomicInteger next = new AtomicInteger();

    WorkerChoice(Balancer balancer) {
        this.leastRequest = balancer == Balancer.LEAST_REQUEST;
    }

    /**
     * A READY worker other than {@code avoid} and not in {@code tried} (either may be null), counted in: with
     * least-request first the less busy of two candidates, then (and with round-robin only) the next in turn.
     */
    Endpoint choose(Endpoint[] ready, Endpoint avoid, List<Endpoint> tried) {
        int count = ready.length;
        if (leastRequest && count > 1) {
            Endpoint chosen = lessBusyOfTwo(ready, avoid, tried);
            if (chosen != null) {
                return chosen;
            }
        }
        for (int attempt = 0; attempt < count; attempt++) {
            Endpoint endpoint = ready[index(next.getAndIncrement(), count)];
            if (eligible(endpoint, avoid, tried) && endpoint.tryAcquire()) {
                return endpoint;
            }
        }
        return null;
    }

    /**
     * Envoy's LEAST_REQUEST: the next worker in turn and another drawn at random; the one with fewer requests in
     * flight, the first on a tie, so that idle workers are taken in turn. Null when neither can take the request.
     */
    private Endpoint lessBusyOfTwo(Endpoint[] ready, Endpoint avoid, List<Endpoint> tried) {
        int count = ready.length;
        int first = index(next.getAndIncrement(), count);
        Endpoint a = ready[first];
        Endpoint b = ready[(first + 1 + ThreadLocalRandom.current().nextInt(count - 1)) % count];
        boolean aEligible = eligible(a, avoid, tried);
        boolean bEligible = eligible(b, avoid, tried);
        boolean aWins = !bEligible || aEligible && a.inFlight() <= b.inFlight();
        if (aWins ? aEligible && a.tryAcquire() : b.tryAcquire()) {
            return aWins ? a : b;
        }
        // The winner is full or left the rotation since its count was read: the other one, if it may be used.
        Endpoint other = aWins ? b : a;
        return (aWins ? bEligible : aEligible) && other.tryAcquire() ? other : null;
    }

    /**
     * The READY worker with the fewest open tunnels, counted in; ties go round-robin (the scan starts at the next
     * worker in turn). Null when none can take it.
     */
    Endpoint fewestTunnels(Endpoint[] ready) {
        int count = ready.length;
        for (int tries = 0; tries < count; tries++) {
            int start = next.getAndIncrement();
            Endpoint best = null;
            for (int i = 0; i < count; i++) {
                Endpoint candidate = ready[index(start + i, count)];
                // Handshakes in flight count too: a burst would otherwise all go to the worker slowest to answer its 101s.
                if (candidate.isAccepting() && (best == null || load(candidate) < load(best))) {
                    best = candidate;
                }
            }
            if (best == null) {
                return null;
            }
            if (best.tryAcquire()) {
                return best;
            }
        }
        return null;
    }

    /** Open tunnels plus requests in flight (a handshake is one until its 101). */
    private static int load(Endpoint endpoint) {
        return endpoint.tunnels() + endpoint.inFlight();
    }

    /**
     * Not {@code avoid}, not tried, and in rotation: a worker that left the rotation since the snapshot was published
     * (its drain began, the proxy ejected it) is skipped before a request is counted in on it, so that no sticky
     * request of a draining worker finds it full because of a count that was only ever going to be taken back.
     */
    private static boolean eligible(Endpoint endpoint, Endpoint avoid, List<Endpoint> tried) {
        return endpoint != avoid && endpoint.isAccepting() && (tried == null || !tried.contains(endpoint));
    }

    /** Round-robin position that stays in range when the counter wraps past Integer.MAX_VALUE. */
    static int index(int counter, int count) {
        return (counter & Integer.MAX_VALUE) % count;
    }
}
