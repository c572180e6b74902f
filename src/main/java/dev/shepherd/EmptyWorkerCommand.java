package dev.shepherd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * A warning when {@code fleet.worker.command} is given but empty ({@code FLEET_WORKER_COMMAND="$APP_CMD"} with
 * {@code APP_CMD} unset, an empty line of an environment file): the built-in demo worker then serves real traffic,
 * which the README documents for a command left out, not for one that went missing (found by an attacking helper).
 * A blank one, a space, stops startup already.
 */
@Component
class EmptyWorkerCommand implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(EmptyWorkerCommand.class);

    private final Environment environment;

    EmptyWorkerCommand(Environment environment) {
        this.environment = environment;
    }

    /** Once every bean is made, before the fleet and the proxy start: before a worker runs with the setting. */
    @Override
    public void afterSingletonsInstantiated() {
        String warning = warning(environment);
        if (warning != null) {
            log.warn(warning);
        }
    }

    /** The warning for {@code environment}, or null when the command is left out or given. */
    static String warning(Environment environment) {
        String given = environment.getProperty("fleet.worker.command");
        if (given == null || !given.isEmpty() || environment.containsProperty("fleet.worker.command[0]")) {
            return null;
        }
        return "fleet.worker.command is set but empty, so the built-in demo worker runs: give the worker's command "
                + "(env FLEET_WORKER_COMMAND), or leave the property out for the demo";
    }
}
