package dev.shepherd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * A warning, once at startup, for each {@code fleet.*} duration given as a bare number: Spring Boot reads it as
 * milliseconds, so {@code fleet.worker.startup-timeout=60}, meant as nginx's seconds, killed every worker 60 ms
 * after its start, in a loop, without a word (found by a new user's attack). Still taken as Spring Boot reads it:
 * refusing it would break configurations that mean milliseconds.
 */
@Component
class UnitlessDurations implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(UnitlessDurations.class);
    private static final Pattern BARE_NUMBER = Pattern.compile("\\s*\\d+\\s*");

    private final Environment environment;

    UnitlessDurations(Environment environment) {
        this.environment = environment;
    }

    /** Once every bean is made, before the fleet and the proxy start: before a worker runs with the setting. */
    @Override
    public void afterSingletonsInstantiated() {
        warnings(environment::getProperty, KnownSettings.types()).forEach(log::warn);
    }

    /**
     * One warning for each setting of {@code known} (name to Java type, as {@link KnownSettings#types()} gives) that
     * is a {@code java.time.Duration} whose value, as {@code values} resolves it, is a number without a unit and not 0.
     */
    static List<String> warnings(Function<String, String> values, Map<String, String> known) {
        List<String> warnings = new ArrayList<>();
        known.forEach((name, type) -> {
            if (!type.equals("java.time.Duration")) {
                return;
            }
            String value = values.apply(name);
            if (value != null && BARE_NUMBER.matcher(value).matches() && Long.parseLong(value.trim()) != 0) {
                String number = value.trim();
                // 60000 was most likely meant as milliseconds: "write 60000s for seconds" offered 16 hours (found by a
                // new user's attack). Seconds are offered below 1000 only, and a whole number of seconds is shown.
                long millis = Long.parseLong(number);
                warnings.add(name + "=" + number + " has no unit and is read as " + number + " ms"
                        + (millis >= 1000 && millis % 1000 == 0 ? " (" + millis / 1000 + "s)" : "") + ": write "
                        + (millis < 1000 ? number + "s for seconds, or " : "") + number + "ms to keep it and silence this");
            }
        });
        return warnings;
    }
}
