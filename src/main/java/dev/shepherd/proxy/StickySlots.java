package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.worker.WorkerState;

import java.util.List;

/**
 * Where a request of a sticky session goes, given the slot (stable worker index) it is bound to, whether by the
 * proxy's cookie ({@link StickySessions}) or by the application's ({@link AppCookieSessions}).
 *
 * <p>The slot's READY worker when it has one (the newest, when a reload's new worker shares the slot with the old
 * one); else its draining worker, while the drain lasts (HAProxy's drain state: persistent clients keep coming,
 * new ones do not), so that a session's requests stay on the process that holds its state until that process has
 * nothing left in flight or half its {@code fleet.worker.drain-timeout} is over (the other half is for the requests in
 * flight to finish). When that worker is full (at
 * {@code fleet.worker.max-concurrency}), or requests it must not go past are queued, the request waits for it in the
 * router's queue ({@link #keeps}: HAProxy's per-server queue for persistent requests), since another worker would
 * not have the session's state. Only a slot with no such worker gives its requests to normal balancing.
 * Lock-free, no allocation; any thread.
 */
final class StickySlots {

    private StickySlots() {
    }

    /**
     * The worker of {@code slot} for a sticky request, counted in; null when the slot is negative (no binding),
     * has no worker that takes it, or its worker is full or must not be gone past ({@code queued}: requests wait
     * that it must queue behind). An {@code upgrade} (a WebSocket handshake) never goes to a draining worker, which
     * would close the tunnel soon.
     */
    static Endpoint pick(FleetSnapshot snapshot, int slot, boolean queued, boolean upgrade) {
        if (slot < 0) {
            return null;
        }
        Endpoint ready = newestAccepting(snapshot.ready(), slot);
        if (ready != null) {
            return !queued && ready.tryAcquire() ? ready : null;
        }
        Endpoint draining = upgrade ? null : draining(snapshot, slot);
        return draining != null && draining.tryAcquireSticky() ? draining : null;
    }

    /**
     * Whether {@code slot} still has a worker that takes its sticky requests (READY and accepting, though perhaps
     * full, or draining): such a request waits for it rather than going elsewhere, and one served elsewhere
     * meanwhile (a retry) does not move the session, whose state that worker holds. {@code upgrade}: a WebSocket
     * handshake, which a draining worker does not take.
     */
    static boolean keeps(FleetSnapshot snapshot, int slot, boolean upgrade) {
        return slot >= 0 && (newestAccepting(snapshot.ready(), slot) != null
                || !upgrade && draining(snapshot, slot) != null);
    }

    /**
     * Whether a session bound to {@code slot} stays bound to it after another worker served it: {@link #keeps}, or
     * the slot's READY worker is out of rotation only as an outlier, back after its ejection time (a retry elsewhere
     * while its worker lives on does not move a session either).
     */
    static boolean keepsBinding(FleetSnapshot snapshot, int slot) {
        if (keeps(snapshot, slot, false)) {
            return true;
        }
        for (WorkerSnapshot worker : snapshot.workers()) {
            if (worker.index() == slot && worker.state() == WorkerState.READY
                    && worker.endpoint() != null && worker.endpoint().isEjectedAsOutlier()) {
                return true;
            }
        }
        return false;
    }

    private static Endpoint newestAccepting(Endpoint[] ready, int slot) {
        Endpoint newest = null;
        for (Endpoint endpoint : ready) {
            if (endpoint.index() == slot && endpoint.isAccepting()
                    && (newest == null || endpoint.workerId() > newest.workerId())) {
                newest = endpoint;
            }
        }
        return newest;
    }

    /**
     * The slot's draining worker: DRAINING in the snapshot, or still READY in it when its drain began after the
     * snapshot was published.
     */
    private static Endpoint draining(FleetSnapshot snapshot, int slot) {
        Endpoint newest = null;
        for (Endpoint endpoint : snapshot.ready()) {
            if (endpoint.index() == slot && endpoint.isDraining()) {
                newest = endpoint;
            }
        }
        List<WorkerSnapshot> workers = snapshot.workers();
        for (int i = 0; i < workers.size(); i++) {
            WorkerSnapshot worker = workers.get(i);
            Endpoint endpoint = worker.endpoint();
            if (worker.state() == WorkerState.DRAINING && endpoint != null && endpoint.index() == slot
                    && endpoint.isDraining() && (newest == null || endpoint.workerId() > newest.workerId())) {
                newest = endpoint;
            }
        }
        return newest;
    }
}
