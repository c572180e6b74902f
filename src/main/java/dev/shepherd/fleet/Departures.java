package dev.shepherd.fleet;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The workers that left the fleet lately, by id, so that a command naming one can say where it went: PM2 keeps an
 * app's ids across {@code pm2 reload}, Shepherd gives the new workers new ids (their index is what stays), and
 * {@code shepherd restart 1} after a reload said only that worker 1 was not in the fleet (a new user's). The newest
 * {@value #KEPT} are kept. Written on the supervisor's thread, read by the admin API's: synchronized.
 */
final class Departures {

    static final int KEPT = 256;

    /** A worker that left: its id, the index it held, when, and the reason the {@code REMOVED} event gave. */
    record Departure(int id, int index, Instant at, String reason) {
    }

    private final Map<Integer, Departure> byId = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Integer, Departure> eldest) {
            return size() > KEPT;
        }
    };

    synchronized void add(Departure departure) {
        byId.put(departure.id(), departure);
    }

    synchronized Optional<Departure> find(int id) {
        return Optional.ofNullable(byId.get(id));
    }

    /**
     * The error for {@code id}, not in the fleet: where it went when it left lately, and which of {@code current}
     * holds its index now; else the plain one.
     */
    FleetExceptions.NoSuchWorkerException noSuchWorker(int id, Collection<WorkerSnapshot> current) {
        return find(id).map(departure -> new FleetExceptions.NoSuchWorkerException(id, "it left the fleet at "
                        + departure.at().truncatedTo(ChronoUnit.SECONDS) + " (" + departure.reason() + "); "
                        + current.stream().filter(worker -> worker.index() == departure.index()).findFirst()
                                .map(worker -> "worker " + worker.id() + " holds its index " + departure.index() + " now")
                                .orElse("no worker holds its index " + departure.index() + " now")))
                .orElseGet(() -> new FleetExceptions.NoSuchWorkerException(id));
    }
}
