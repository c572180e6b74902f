package dev.shepherd.admin;

import lombok.extern.slf4j.Slf4j;
import org.springframework.boot.web.server.context.WebServerInitializedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Once the admin port listens without {@code fleet.admin.token}, whom it answers. Where the kernel's socket tables
 * tell callers apart ({@link SocketOwners}: Linux), a line at INFO that only the master's user and root are answered.
 * Elsewhere a warning that every user of the machine can drive the fleet, and run commands as the master's user
 * through a reload: found by a helper acting as a new user, who as user {@code nobody} ran a command of its choosing
 * as root with one {@code curl}, where only the README's systemd section said so (PM2's socket is its own user's
 * alone).
 */
@Slf4j
@Component
class NoTokenWarning {

    private final AdminToken token;

    NoTokenWarning(AdminToken token) {
        this.token = token;
    }

    @EventListener(WebServerInitializedEvent.class)
    void listening(WebServerInitializedEvent event) {
        if (token.required()) {
            return;
        }
        int port = event.getWebServer().getPort();
        String user = System.getProperty("user.name");
        if (token.owners().blind()) {
            log.warn("The admin API on port {} has no token and answers no request but health: {}; set "
                    + "FLEET_ADMIN_TOKEN or fleet.admin.token-file to use it", port, token.owners().whyNotChecked());
        } else if (token.owners().checks()) {
            log.info("The admin API on port {} has no token: it answers only {}; for other users and machines, set "
                    + "FLEET_ADMIN_TOKEN or fleet.admin.token-file", port, token.owners().admitted());
        } else {
            log.warn("The admin API on port {} has no token: every user of this machine, and every process of theirs, "
                    + "can drive the fleet and run commands as {} (a reload takes a command), since {}; where the "
                    + "machine has other users, set FLEET_ADMIN_TOKEN or fleet.admin.token-file", port, user,
                    token.owners().whyNotChecked());
        }
    }
}
