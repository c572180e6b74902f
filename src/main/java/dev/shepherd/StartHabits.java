package dev.shepherd;

import java.util.Map;

/**
 * What gunicorn's and PM2's options that {@code shepherd start} has not are here: the README compares start with
 * both, and they got a bare "Unknown option" (a new user's).
 */
final class StartHabits {

    /**
     * PM2's {@code --name}: PM2 tells its apps apart by name ({@code pm2 logs api}), the command line tells masters
     * apart by their admin port.
     */
    private static final String NO_NAME = "The master runs one app, so it needs no name (PM2's --name, -n): the "
            + "command line tells masters apart by their admin ports (start --admin-port PORT, then "
            + "SHEPHERD_ADMIN_URL=127.0.0.1:PORT).";

    /** PM2's log file options: one file per worker slot and stream here, in a directory. */
    private static final String LOG_FILES = "Worker output goes to files in a directory: --set "
            + "fleet.worker.log-directory=DIR writes worker-<index>-out.log and -err.log there (PM2's -o, -e, "
            + "--merge-logs); shepherd logs shows it too.";
    private static final String LOG_TIMES = "Worker log lines are kept without a time of their own; shepherd logs and "
            + "the master's log show when each came (PM2's --time, --log-date-format).";

    private static final Map<String, String> HINTS = Map.ofEntries(
            Map.entry("-w", "Did you mean -i? It is the number of workers here (gunicorn's -w, PM2's -i)."),
            Map.entry("--workers", "Did you mean -i? It is the number of workers here (gunicorn's -w, PM2's -i)."),
            Map.entry("-b", "The proxy's port is -p PORT; its address, every interface by default, is --set "
                    + "server.address=HOST (gunicorn's -b HOST:PORT)."),
            Map.entry("--bind", "The proxy's port is -p PORT; its address, every interface by default, is --set "
                    + "server.address=HOST (gunicorn's -b HOST:PORT)."),
            Map.entry("--name", NO_NAME),
            Map.entry("-n", NO_NAME),
            Map.entry("--watch", "Shepherd does not restart on file changes: shepherd reload does it without dropping "
                    + "a request (PM2's --watch)."),
            Map.entry("--no-daemon", "start runs in the foreground already; systemd or Docker keeps it running (PM2's "
                    + "--no-daemon)."),
            Map.entry("--interpreter", "Give the interpreter before the script: shepherd start python3 app.py (PM2's "
                    + "--interpreter)."),
            Map.entry("--node-args", "Give node's own options before the script: shepherd start node "
                    + "--max-old-space-size=300 app.js (PM2's --node-args)."),
            Map.entry("--kill-timeout", "How long a worker has after its stop signal before KILL is --set "
                    + "fleet.worker.kill-timeout=3s (PM2's --kill-timeout, in ms there)."),
            Map.entry("-o", LOG_FILES),
            Map.entry("--output", LOG_FILES),
            Map.entry("--error", LOG_FILES),
            Map.entry("--merge-logs", LOG_FILES),
            Map.entry("--log", LOG_FILES),
            Map.entry("--time", LOG_TIMES),
            Map.entry("--log-date-format", LOG_TIMES));

    private StartHabits() {
    }

    /** What does it here for {@code typed}, an option as typed ({@code --bind=...} too); null for any other. */
    static String hint(String typed) {
        return HINTS.get(typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed);
    }
}
