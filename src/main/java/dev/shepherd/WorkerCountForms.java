package dev.shepherd;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

import java.util.Locale;
import java.util.Map;

/**
 * {@code fleet.workers} in PM2's forms, as {@code shepherd start -i} takes them: {@code max} or {@code 0} is one worker
 * per available processor (at most {@code fleet.max-workers}, as when it is unset), {@code -N} that less N (at least
 * 1). A new user's {@code fleet.workers: max} in YAML (and {@code FLEET_WORKERS=max} in Docker) stopped the start
 * with "must be a whole number", where {@code -i max} was taken. Any other value is bound, and reported, as before.
 */
public class WorkerCountForms implements EnvironmentPostProcessor, Ordered {

    static final String SOURCE = "shepherdWorkerCount";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean shepherd = application.getAllSources().stream().anyMatch(source -> source == ShepherdApplication.class);
        if (!shepherd || environment.getPropertySources().contains(SOURCE)) {
            return;
        }
        String given = Binder.get(environment).bind("fleet.workers", String.class).orElse(null);
        int maxWorkers = Binder.get(environment).bind("fleet.max-workers", Integer.class).orElse(64);
        Integer count = count(given, Runtime.getRuntime().availableProcessors(), maxWorkers);
        if (count != null) {
            environment.getPropertySources().addFirst(new MapPropertySource(SOURCE, Map.of("fleet.workers", count)));
        }
    }

    /** The count {@code given} means in PM2's forms; null when it is in none of them (a number, or a mistake). */
    static Integer count(String given, int processors, int maxWorkers) {
        if (given == null) {
            return null;
        }
        String value = given.strip().toLowerCase(Locale.ROOT);
        if (value.equals("max") || value.equals("0")) {
            return Math.max(1, Math.min(maxWorkers, processors));
        }
        if (value.matches("-[0-9]{1,9}")) {
            return Math.max(1, Math.min(maxWorkers, processors + Integer.parseInt(value)));
        }
        return null;
    }

    /** After Spring Boot's own sources are in place, as {@link PortLayout}. */
    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
