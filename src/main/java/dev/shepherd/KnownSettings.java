package dev.shepherd;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The {@code fleet.*} settings Shepherd has, as the build's configuration processor lists them in
 * {@code META-INF/spring-configuration-metadata.json}, and the one a misspelt or misplaced name most likely meant
 * (as {@code git} and picocli suggest a command). Used once, on a failed start.
 */
final class KnownSettings {

    static final String METADATA = "META-INF/spring-configuration-metadata.json";

    private KnownSettings() {
    }

    /**
     * The known setting closest to {@code unknown}: a few typing mistakes away in the whole name (at most 3 edits),
     * or with a last element that is (at most 2 edits), as {@code fleet.max-concurrency} for
     * {@code fleet.worker.max-concurrency}; empty when none is near enough to be a useful guess.
     */
    static Optional<String> closest(String unknown) {
        return closest(unknown, names());
    }

    /**
     * As {@link #closest(String)}, among {@code names} and the names people reach for that are Spring Boot's
     * ({@code fleet.proxy.port} for {@code server.port}), which are suggested as Spring Boot's.
     */
    static Optional<String> closest(String unknown, List<String> names) {
        String unknownLeaf = leaf(unknown);
        // A short last element is only a guess when one letter is off: "port" is two edits from "work".
        int leafEdits = unknownLeaf.length() >= 6 ? 2 : 1;
        return Stream.concat(names.stream(), ELSEWHERE.keySet().stream())
                .filter(known -> distance(known, unknown) <= 3
                        || unknownLeaf.length() >= 4 && distance(leaf(known), unknownLeaf) <= leafEdits)
                .min(Comparator.comparingInt((String known) -> distance(known, unknown)))
                .map(known -> ELSEWHERE.getOrDefault(known, known));
    }

    /** Names a user may guess under {@code fleet.}, and the Spring Boot setting that is meant. */
    private static final Map<String, String> ELSEWHERE = Map.of(
            "fleet.proxy.port", "server.port",
            "fleet.port", "server.port",
            "fleet.proxy.address", "server.address",
            "fleet.admin.port", "management.server.port",
            "fleet.admin.address", "management.server.address");

    /** Every documented {@code fleet.*} name, dashed; empty when the metadata is missing (an IDE run, say). */
    static List<String> names() {
        return new ArrayList<>(types().keySet());
    }

    /**
     * Every documented {@code fleet.*} name, dashed, with its Java type as the metadata writes it
     * ({@code java.util.List<java.lang.String>}), in the metadata's order; empty when the metadata is missing.
     */
    static Map<String, String> types() {
        Map<String, String> types = new LinkedHashMap<>();
        try (InputStream in = KnownSettings.class.getClassLoader().getResourceAsStream(METADATA)) {
            if (in == null) {
                return types;
            }
            for (JsonNode property : JsonMapper.shared().readTree(in).path("properties")) {
                String name = property.path("name").asString("");
                if (name.startsWith("fleet.")) {
                    types.put(name, property.path("type").asString(""));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return types;
    }

    private static String leaf(String name) {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    /** {@link EditDistance#between}. */
    static int distance(String a, String b) {
        return EditDistance.between(a, b);
    }
}
