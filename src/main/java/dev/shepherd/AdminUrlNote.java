package dev.shepherd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Once the master runs, a line naming the admin API's URL for the command line when it is not the one the command
 * line tries by default: another port ({@code shepherd start --admin-port}, {@code management.server.port} in a file
 * or the environment), another address, or TLS. A new user's {@code shepherd ls} could not reach a master started with
 * {@code --admin-port 19703}, then one whose {@code application.yml} set the port (PM2's client finds its daemon by
 * itself). Said once the port listens: start printed it before its arguments were checked, so it came before a usage
 * error or a failed start as if the master ran (a new user's).
 */
@Component
class AdminUrlNote {

    private static final Logger log = LoggerFactory.getLogger(AdminUrlNote.class);

    /** The admin API's port when none is given, which the command line tries ({@code management.server.port}). */
    private static final int DEFAULT_ADMIN_PORT = 8081;

    private final Environment environment;

    AdminUrlNote(Environment environment) {
        this.environment = environment;
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        String note = note(environment);
        if (note != null) {
            log.info(note);
        }
    }

    /**
     * The note for {@code environment}, or null when the command line's default URL ({@code http://127.0.0.1:8081})
     * reaches the admin API. The port it listens on ({@code local.server.port}: the servlet container serves it,
     * {@link PortLayout}), so that {@code --admin-port 0} names the port it got; its address ({@code server.address}
     * there), a wildcard one reached on loopback; {@code https} when the port has TLS.
     */
    static String note(Environment environment) {
        Integer port = environment.getProperty("local.server.port", Integer.class);
        if (port == null) {
            return null;
        }
        String address = environment.getProperty("server.address", "127.0.0.1");
        String host = address.isBlank() || address.equals("0.0.0.0") || address.equals("::") || address.equals("[::]")
                ? "127.0.0.1" : address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address;
        boolean tls = environment.getProperty("server.ssl.enabled", Boolean.class, false)
                || environment.containsProperty("server.ssl.bundle") || environment.containsProperty("server.ssl.certificate");
        String url = (tls ? "https://" : "") + host + ":" + port;
        if (url.equals("127.0.0.1:" + DEFAULT_ADMIN_PORT)) {
            return null;
        }
        return "The admin API is on port " + port + "; the command line finds it with SHEPHERD_ADMIN_URL=" + url
                + " (or --admin " + url + ")";
    }
}
