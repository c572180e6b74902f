package dev.shepherd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.BindHandler;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException;
import org.springframework.boot.context.properties.bind.handler.NoUnboundElementsBindHandler;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.stereotype.Component;
import org.springframework.util.ClassUtils;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A warning, once at startup, for each {@code server.*} or {@code management.*} name set in an argument, a system
 * property or a configuration file that is no setting of Spring Boot's ({@code --server.prot=9000}): Spring Boot
 * binds those leniently and ignores an unknown name, so a misspelt port left the proxy on 8080 without a word
 * (unknown {@code fleet.*} names stop startup instead, {@link ConfigurationFailureAnalyzer}). The known names are
 * those of every {@code META-INF/spring-configuration-metadata.json} on the class path, compared as Spring Boot
 * binds them (case, dashes and {@code camelCase} alike); a name under a map or list setting
 * ({@code management.metrics.tags.region}) is known, one under any other setting is not; a removed name is told
 * with its replacement; a name below a key of a map of objects ({@code management.endpoint.health.group.*}) is
 * checked by binding the map. Environment variables are left out ({@code SERVER_NAME} is common and meant for
 * others).
 */
@Component
class UnknownSpringSettings implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(UnknownSpringSettings.class);
    private static final List<String> PREFIXES = List.of("server.", "management.");
    private static final List<String> METADATA = List.of(KnownSettings.METADATA,
            "META-INF/additional-spring-configuration-metadata.json");

    /** Longer names get no "did you mean" (a 100,000-character one kept startup busy for 10 s). */
    private static final int MAX_GUESSED_LENGTH = 200;

    private final ConfigurableEnvironment environment;

    UnknownSpringSettings(ConfigurableEnvironment environment) {
        this.environment = environment;
    }

    /** Once every bean is made, before the fleet and the proxy start: before a worker runs with the setting. */
    @Override
    public void afterSingletonsInstantiated() {
        List<String> set = new ArrayList<>();
        for (PropertySource<?> source : environment.getPropertySources()) {
            // The port layout's own source binds whole objects (server.ssl), and the defaults are checked by a test:
            // Shepherd's, not the user's.
            if (source instanceof EnumerablePropertySource<?> names && !source.getName().equals(PortLayout.SOURCE)
                    && !source.getName().startsWith(BuiltInDefaults.SOURCE)
                    && !source.getName().equals(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME)) {
                set.addAll(List.of(names.getPropertyNames()));
            }
        }
        Metadata metadata = metadata(getClass().getClassLoader());
        warnings(set, metadata).forEach(log::warn);
        objectMapWarnings(set, metadata.objectMaps(), Binder.get(environment), getClass().getClassLoader())
                .forEach(log::warn);
    }

    /**
     * One warning for each name of {@code set} below a key of a map of objects ({@code objectMaps}) that binds to
     * nothing in the map's values ({@code management.endpoint.health.group.readiness.inclde}): the metadata does not
     * describe those values, so the map is bound as Spring Boot binds it, with a handler that reports what stayed
     * unbound ({@code @ConfigurationProperties(ignoreUnknownFields = false)}'s). A map that cannot be bound (a
     * value of the wrong type, which Spring Boot reports itself) or whose class is not there gives none.
     */
    static List<String> objectMapWarnings(Collection<String> set, Map<String, String> objectMaps, Binder binder,
                                          ClassLoader loader) {
        List<String> warnings = new ArrayList<>();
        Map<ConfigurationPropertyName, String> user = new HashMap<>();
        for (String name : set) {
            ConfigurationPropertyName adapted = ConfigurationPropertyName.adapt(name, '.');
            if (!adapted.isEmpty()) {
                user.putIfAbsent(adapted, name);
            }
        }
        objectMaps.forEach((map, valueType) -> {
            ConfigurationPropertyName mapName = ConfigurationPropertyName.of(map);
            if (user.keySet().stream().noneMatch(mapName::isAncestorOf)) {
                return;
            }
            Class<?> values;
            try {
                values = ClassUtils.forName(valueType, loader);
            } catch (ClassNotFoundException | LinkageError ex) {
                return;
            }
            try {
                binder.bind(mapName, Bindable.mapOf(String.class, values), new NoUnboundElementsBindHandler(BindHandler.DEFAULT));
            } catch (BindException ex) {
                if (ex.getCause() instanceof UnboundConfigurationPropertiesException unbound) {
                    unbound.getUnboundProperties().stream().map(property -> user.get(property.getName()))
                            .filter(Objects::nonNull).sorted()
                            .forEach(name -> warnings.add(TerminalText.safe(name) + " is no setting of Spring Boot's "
                                    + "here and is ignored: " + map + ".<name> takes " + settingsOf(values)));
                }
            }
        });
        return warnings;
    }

    /**
     * The settings an object of {@code type} binds, dashed and sorted ({@code include, exclude, show-details, …}): a
     * warning named the Java class (found by a new user's attack).
     */
    static String settingsOf(Class<?> type) {
        Stream<String> names = type.isRecord()
                ? Arrays.stream(type.getRecordComponents()).map(java.lang.reflect.RecordComponent::getName)
                : Arrays.stream(org.springframework.beans.BeanUtils.getPropertyDescriptors(type))
                        .filter(property -> property.getReadMethod() != null && !property.getName().equals("class"))
                        .map(java.beans.PropertyDescriptor::getName);
        return names.map(DataObjectPropertyName::toDashedForm).sorted().collect(Collectors.joining(", "));
    }

    /**
     * The {@code server.*} and {@code management.*} names of the configuration metadata: those Spring Boot binds
     * ({@code known}), those of them that are maps, lists or arrays and so take names below their own
     * ({@code containers}), and those it removed (deprecated at level {@code error}: documented, but no longer
     * bound), each with its replacement, empty when it has none; and the maps among the containers whose values are
     * objects of Spring Boot's ({@code objectMaps}: name to the values' class name, such as
     * {@code management.endpoint.health.group} to its {@code Group}), whose names below a key are checked by binding.
     */
    record Metadata(Collection<String> known, Collection<String> containers, Map<String, String> removed,
                    Map<String, String> objectMaps) {

        Metadata(Collection<String> known, Collection<String> containers, Map<String, String> removed) {
            this(known, containers, removed, Map.of());
        }
    }

    /**
     * Maps Spring Boot binds that its metadata leaves out ({@code ServerProperties}' mime mappings: the getter's type
     * is not the setter's), so that their keys are not warned about.
     */
    private static final List<String> UNDOCUMENTED_MAPS = List.of("server.mime-mappings");

    /**
     * One warning for each name of {@code set} under {@code server.} or {@code management.} that none of the known
     * names binds: a removed one with its replacement, another with the closest known name when there is one; none
     * when nothing is known (metadata missing, as in some IDE runs).
     */
    static List<String> warnings(Collection<String> set, Metadata metadata) {
        List<String> warnings = new ArrayList<>();
        if (metadata.known().isEmpty()) {
            return warnings;
        }
        List<ConfigurationPropertyName> knownNames = metadata.known().stream().map(ConfigurationPropertyName::of).toList();
        List<ConfigurationPropertyName> containers = metadata.containers().stream().map(ConfigurationPropertyName::of).toList();
        Map<ConfigurationPropertyName, String> removed = new HashMap<>();
        metadata.removed().forEach((name, replacement) -> removed.put(ConfigurationPropertyName.of(name), replacement));
        for (String name : new TreeSet<>(set)) {
            // Spring Boot binds --SERVER.PORT as server.port: the prefix is matched in any case.
            String lower = name.toLowerCase(Locale.ROOT);
            if (PREFIXES.stream().noneMatch(lower::startsWith) && !misspeltPrefix(lower)) {
                continue;
            }
            ConfigurationPropertyName adapted = ConfigurationPropertyName.adapt(name, '.');
            if (adapted.isEmpty() || knownNames.contains(adapted)) {
                continue;
            }
            String replacement = removed.get(adapted);
            if (replacement != null) {
                warnings.add(TerminalText.safe(name) + " was removed from Spring Boot and is ignored"
                        + (replacement.isEmpty() ? "" : "; use " + replacement));
                continue;
            }
            // Only a map or a list takes names below its own: below a plain value (server.ssl.key-store.password)
            // the name is a mistake.
            if (containers.stream().anyMatch(container -> container.isAncestorOf(adapted))) {
                continue;
            }
            // A guess costs an edit distance to every known name: none for a name longer than any setting's.
            Optional<String> closest = name.length() > MAX_GUESSED_LENGTH ? Optional.empty()
                    : KnownSettings.closest(adapted.toString(), List.copyOf(metadata.known()));
            warnings.add(TerminalText.safe(name) + " is no setting of Spring Boot's here and is ignored"
                    + closest.map(property -> "; did you mean " + property + "?").orElse(""));
        }
        return warnings;
    }

    /** Whether {@code name}'s first element is a typing mistake or two away from {@code server} or {@code management}. */
    private static boolean misspeltPrefix(String name) {
        String first = name.substring(0, Math.max(0, name.indexOf('.')));
        return PREFIXES.stream().map(prefix -> prefix.substring(0, prefix.length() - 1))
                .anyMatch(prefix -> !first.equals(prefix) && EditDistance.between(first, prefix) <= 2);
    }

    /** The {@code server.*} and {@code management.*} names in the configuration metadata {@code loader} finds. */
    static Metadata metadata(ClassLoader loader) {
        Collection<String> known = new TreeSet<>(UNDOCUMENTED_MAPS);
        Collection<String> containers = new TreeSet<>(UNDOCUMENTED_MAPS);
        Map<String, String> removed = new TreeMap<>();
        Map<String, String> objectMaps = new TreeMap<>();
        try {
            for (String resource : METADATA) {
                Enumeration<URL> files = loader.getResources(resource);
                while (files.hasMoreElements()) {
                    try (InputStream in = files.nextElement().openStream()) {
                        for (JsonNode property : JsonMapper.shared().readTree(in).path("properties")) {
                            String name = property.path("name").asString("");
                            JsonNode deprecation = property.path("deprecation");
                            if (PREFIXES.stream().noneMatch(name::startsWith)) {
                                continue;
                            }
                            if ("error".equals(deprecation.path("level").asString(""))) {
                                removed.put(name, deprecation.path("replacement").asString(""));
                            } else {
                                known.add(name);
                                String type = property.path("type").asString("");
                                if (type.startsWith("java.util.Map<") || type.startsWith("java.util.List<")
                                        || type.startsWith("java.util.Set<") || type.startsWith("java.util.Collection<")
                                        || type.endsWith("[]")) {
                                    containers.add(name);
                                }
                                String values = mapValues(type);
                                if (values != null) {
                                    objectMaps.put(name, values);
                                }
                            }
                        }
                    }
                }
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        // A name deprecated in one file and documented anew in another stays known.
        removed.keySet().removeAll(known);
        return new Metadata(known, containers, removed, objectMaps);
    }

    /**
     * The class of a {@code Map<String, V>}'s values when {@code V} is a plain class of Spring's or Spring Boot's (not
     * the JDK's, an array or a generic type); null otherwise.
     */
    static String mapValues(String type) {
        String prefix = "java.util.Map<java.lang.String,";
        if (!type.startsWith(prefix) || !type.endsWith(">")) {
            return null;
        }
        String values = type.substring(prefix.length(), type.length() - 1);
        return values.startsWith("org.springframework.") && values.matches("[\\w.$]+") ? values : null;
    }
}
