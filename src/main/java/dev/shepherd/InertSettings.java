package dev.shepherd;

import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.RestartPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.core.env.Environment;
import org.springframework.core.env.PropertySource;
import org.springframework.stereotype.Component;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Warnings, once at startup, for settings that were given but do nothing because of another setting's value
 * ({@code fleet.restart.initial-backoff} with {@code fleet.restart.policy=never}), as nginx warns of a directive that
 * is ignored: the operator meant something by them. A setting counts as given when any property source has it (a
 * file, the command line, an environment variable in any of Spring Boot's relaxed forms), even at its default value.
 *
 * <p>Also a list's elements given by index beside the whole list in the same property source
 * ({@code --fleet.worker.command=node,server.js --fleet.worker.command[2]=--inspect}): Spring Boot binds the whole
 * value there and drops the indexed ones.
 */
@Component
class InertSettings implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(InertSettings.class);

    /** Settings that do nothing while {@code when} holds, and why, as a clause that follows "because". */
    private record Rule(Predicate<FleetProperties> when, String because, List<String> settings) {
    }

    private static final List<Rule> RULES = List.of(
            new Rule(fleet -> fleet.restart().policy() == RestartPolicy.NEVER,
                    "fleet.restart.policy is never: a worker that exits is not started again",
                    List.of("fleet.restart.initial-backoff", "fleet.restart.multiplier", "fleet.restart.max-backoff",
                            "fleet.restart.reset-after", "fleet.restart.crash-loop-restarts",
                            "fleet.restart.crash-loop-window")),
            new Rule(fleet -> fleet.proxy().retry().maxAttempts() == 1,
                    "fleet.proxy.retry.max-attempts is 1: no request is retried",
                    List.of("fleet.proxy.retry.budget-percent", "fleet.proxy.retry.min-per-second",
                            "fleet.proxy.retry.backoff")),
            new Rule(fleet -> fleet.proxy().sticky().appCookie() == null,
                    "fleet.proxy.sticky.app-cookie is not set: no binding is learnt from a worker's cookie",
                    List.of("fleet.proxy.sticky.app-cookie-max-entries")),
            new Rule(fleet -> fleet.proxy().outlierDetection().consecutive5xx() == 0,
                    "fleet.proxy.outlier-detection.consecutive-5xx is 0: no worker is ejected",
                    List.of("fleet.proxy.outlier-detection.base-ejection-time",
                            "fleet.proxy.outlier-detection.max-ejection-time",
                            "fleet.proxy.outlier-detection.max-ejection-percent")),
            // A retry waits for a worker whatever the queue limit, as long as queue-timeout (found by an attacking helper).
            new Rule(fleet -> fleet.proxy().queueLimit() == 0 && fleet.proxy().retry().maxAttempts() == 1,
                    "fleet.proxy.queue-limit is 0 and fleet.proxy.retry.max-attempts is 1: no request waits for a worker",
                    List.of("fleet.proxy.queue-timeout")),
            new Rule(fleet -> !fleet.proxy().requestBuffering(),
                    "fleet.proxy.request-buffering is false: request bodies stream to the worker and are never spooled",
                    List.of("fleet.proxy.client-body-temp-path", "fleet.proxy.client-body-temp-max-size")),
            new Rule(fleet -> !fleet.proxy().responseBuffering(),
                    "fleet.proxy.response-buffering is false: workers wait for clients that read slowly, and no "
                            + "response is kept on disk",
                    List.of("fleet.proxy.response-temp-path", "fleet.proxy.response-temp-max-size",
                            "fleet.proxy.response-temp-file-max-size")),
            new Rule(fleet -> fleet.proxy().upgradeProtocols().isEmpty(),
                    "fleet.proxy.upgrade-protocols is empty: no connection switches protocols",
                    List.of("fleet.proxy.tunnel.idle-timeout", "fleet.proxy.tunnel.half-closed-timeout",
                            "fleet.proxy.tunnel.drain-timeout")),
            new Rule(fleet -> fleet.readiness().path() == null || fleet.readiness().path().isBlank(),
                    "fleet.readiness.path is empty: the readiness probe is a TCP connect, which has no status",
                    List.of("fleet.readiness.status")),
            new Rule(fleet -> fleet.liveness().path() == null || fleet.liveness().path().isBlank(),
                    "fleet.liveness.path is empty: the liveness probe is a TCP connect, which has no status",
                    List.of("fleet.liveness.status")),
            new Rule(fleet -> fleet.admin().token() != null && !fleet.admin().token().isBlank(),
                    "fleet.admin.token is set: it is the token, and the file is not read",
                    List.of("fleet.admin.token-file")),
            new Rule(fleet -> fleet.admin().token() != null && !fleet.admin().token().isBlank()
                    || fleet.admin().tokenFile() != null && !fleet.admin().tokenFile().isBlank(),
                    "a token is set: the admin port then answers any host that sends it",
                    List.of("fleet.admin.allowed-hosts")),
            new Rule(fleet -> fleet.worker().maxMemory() == null && fleet.worker().maxRequests() == 0,
                    "neither fleet.worker.max-memory nor fleet.worker.max-requests is set: no worker is recycled",
                    List.of("fleet.worker.recycle-check-interval")));

    private final Environment environment;
    private final FleetProperties fleet;

    InertSettings(Environment environment, FleetProperties fleet) {
        this.environment = environment;
        this.fleet = fleet;
    }

    /** Once every bean is made, before the fleet and the proxy start: before a worker runs with the setting. */
    @Override
    public void afterSingletonsInstantiated() {
        warnings(environment, fleet).forEach(log::warn);
    }

    /** One warning per rule whose settings were given in vain; empty when none was. */
    static List<String> warnings(Environment environment, FleetProperties fleet) {
        List<String> warnings = new ArrayList<>();
        for (Rule rule : RULES) {
            if (!rule.when().test(fleet)) {
                continue;
            }
            List<String> given = rule.settings().stream().filter(environment::containsProperty).toList();
            if (!given.isEmpty()) {
                warnings.add(String.join(", ", given) + (given.size() == 1 ? " does" : " do") + " nothing, because "
                        + rule.because());
            }
        }
        warnings.addAll(indexedBesideWhole(environment));
        return warnings;
    }

    /** The {@code fleet.*} settings that take a list, as the metadata names them. */
    private static final List<String> LISTS = KnownSettings.types().entrySet().stream()
            .filter(setting -> setting.getValue().startsWith("java.util.List<") || setting.getValue().endsWith("[]"))
            .map(Map.Entry::getKey).toList();

    /** One warning per property source and list setting that it gives whole and by index too. */
    private static List<String> indexedBesideWhole(Environment environment) {
        List<String> warnings = new ArrayList<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (!(source instanceof IterableConfigurationPropertySource names)) {
                continue;
            }
            // Looked up rather than compared: an environment variable's name maps to more than one property name.
            List<String> indexes = names.stream().filter(name -> name.isNumericIndex(name.getNumberOfElements() - 1))
                    .map(name -> name.getElement(name.getNumberOfElements() - 1, ConfigurationPropertyName.Form.ORIGINAL))
                    .distinct().sorted(Comparator.comparingInt(String::length).thenComparing(Comparator.naturalOrder()))
                    .toList();
            for (String list : LISTS) {
                ConfigurationPropertyName whole = ConfigurationPropertyName.of(list);
                if (indexes.isEmpty() || source.getConfigurationProperty(whole) == null) {
                    continue;
                }
                List<String> indexed = indexes.stream().map(index -> whole.append("[" + index + "]"))
                        .filter(element -> source.getConfigurationProperty(element) != null)
                        .map(ConfigurationPropertyName::toString).toList();
                if (!indexed.isEmpty()) {
                    Object where = source.getUnderlyingSource() instanceof PropertySource<?> underlying
                            ? underlying.getName() : source.getUnderlyingSource();
                    warnings.add(String.join(", ", indexed) + (indexed.size() == 1 ? " is" : " are") + " ignored, "
                            + "because " + list + " is given whole in the same place (" + where + "), and Spring Boot "
                            + "then takes that list alone: give every element by index, or all of them in " + list);
                }
            }
        }
        return warnings;
    }
}
