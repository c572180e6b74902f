package dev.shepherd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Once the master runs, a line naming the admin API's URL for the command line when {@code shepherd start
 * --admin-port} moved it from the port the command line tries by default (a new user's {@code shepherd ls} could not
 * reach a master started with {@code --admin-port 19703}; PM2's client finds its daemon by itself). Said once the
 * port listens: start printed it before its arguments were checked, so it came before a usage error or a failed
 * start as if the master ran (a new user's).
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
     * The note for {@code environment}, or null when start's {@code --admin-port} did not set the port or the port is
     * the default. The port the admin API listens on ({@code local.server.port}: the servlet container serves it,
     * {@link PortLayout}), so that {@code --admin-port 0} names the port it got.
     */
    static String note(Environment environment) {
        Integer port = environment.getProperty("local.server.port", Integer.class);
        if (!environment.containsProperty(StartCommand.TYPED_OPTION + "management.server.port") || port == null
                || port == DEFAULT_ADMIN_PORT) {
            return null;
        }
        return "The admin API is on port " + port + "; the command line finds it with SHEPHERD_ADMIN_URL=127.0.0.1:"
                + port + " (or --admin 127.0.0.1:" + port + ")";
    }
}
