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

    private static final Map<String, String> HINTS = Map.of(
            "-w", "Did you mean -i? It is the number of workers here (gunicorn's -w, PM2's -i).",
            "--workers", "Did you mean -i? It is the number of workers here (gunicorn's -w, PM2's -i).",
            "-b", "The proxy's port is -p PORT; its address, every interface by default, is --set server.address=HOST "
                    + "(gunicorn's -b HOST:PORT).",
            "--bind", "The proxy's port is -p PORT; its address, every interface by default, is --set "
                    + "server.address=HOST (gunicorn's -b HOST:PORT).",
            "--name", NO_NAME,
            "-n", NO_NAME,
            "--watch", "Shepherd does not restart on file changes: shepherd reload does it without dropping a request "
                    + "(PM2's --watch).",
            "--no-daemon", "start runs in the foreground already; systemd or Docker keeps it running (PM2's "
                    + "--no-daemon).",
            "--interpreter", "Give the interpreter before the script: shepherd start python3 app.py (PM2's "
                    + "--interpreter).");

    private StartHabits() {
    }

    /** What does it here for {@code typed}, an option as typed ({@code --bind=...} too); null for any other. */
    static String hint(String typed) {
        return HINTS.get(typed.contains("=") ? typed.substring(0, typed.indexOf('=')) : typed);
    }
}
