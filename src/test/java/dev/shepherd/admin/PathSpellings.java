package dev.shepherd.admin;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * Other ways to write a path, the ones a server, a framework or a filter may read differently: path parameters on
 * each segment, each character percent-encoded (both hex cases), double encoding, dot segments plain and encoded,
 * doubled, encoded and back slashes, other letter case, trailing characters, overlong UTF-8 and full-width letters.
 * Some are the same resource to Spring MVC, some are errors, some another path; what none may be is a way past
 * the token.
 */
final class PathSpellings {

    private PathSpellings() {
    }

    /** The spellings of {@code path} (which starts with {@code /}), the path itself not among them. */
    static List<String> of(String path) {
        List<String> segments = List.of(path.substring(1).split("/"));
        Set<String> spellings = new LinkedHashSet<>();
        for (String parameter : List.of(";x=y", ";", ";jsessionid=0", "%3bx=y", "%3Bx=y")) {
            eachSegment(segments, spellings, segment -> segment + parameter);
        }
        eachSegment(segments, spellings, segment -> ";x=y/../" + segment);
        eachSegment(segments, spellings, segment -> "..;/" + segment);
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c != '/') {
                String hex = String.format("%02X", (int) c);
                spellings.add(path.substring(0, i) + "%" + hex + path.substring(i + 1));
                spellings.add(path.substring(0, i) + "%" + hex.toLowerCase(Locale.ROOT) + path.substring(i + 1));
                spellings.add(path.substring(0, i) + "%25" + hex + path.substring(i + 1));
                spellings.add(path.substring(0, i) + "%2525" + hex + path.substring(i + 1));
            }
        }
        spellings.add(encodeAll(path));
        eachSlash(path, spellings, List.of("//", "///", "%2f", "%2F", "%252f", "\\", "%5c", "%5C", "/./", "/%2e/",
                "/x/../", "/x/%2e%2e/", "/x/.%2e/", "/x/%2E%2E/", "/x/..%2f", "/%c0%ae%c0%ae/", "%c0%af", "%e0%80%af",
                "/;/", "/.;/", "/x;/../"));
        spellings.add("/" + path);
        spellings.add("/." + path);
        spellings.add("/./" + path.substring(1));
        spellings.add("/x/.." + path);
        spellings.add("/%2e" + path);
        spellings.add(path.toUpperCase(Locale.ROOT));
        eachSegment(segments, spellings, segment -> segment.isEmpty() ? segment
                : Character.toUpperCase(segment.charAt(0)) + segment.substring(1));
        // The full-width form of the first letter (U+FF41 is 'ａ'), which Unicode normalisation would make ASCII.
        eachSegment(segments, spellings, segment -> segment.isEmpty() || !Character.isLowerCase(segment.charAt(0))
                ? segment : "%EF%BD%" + Integer.toHexString(0x81 + segment.charAt(0) - 'a').toUpperCase(Locale.ROOT)
                + segment.substring(1));
        for (String tail : List.of("/", "//", "/.", "/..", "%2f", ".", "%2e", ";", "%20", "%09", "%00", "%0a", "%0d%0a",
                "?", "?x=1", "#x", ".json", "/x", "~", "*", "%")) {
            spellings.add(path + tail);
        }
        spellings.remove(path);
        return new ArrayList<>(spellings);
    }

    private static void eachSegment(List<String> segments, Set<String> spellings, Function<String, String> change) {
        for (int i = 0; i < segments.size(); i++) {
            List<String> changed = new ArrayList<>(segments);
            changed.set(i, change.apply(segments.get(i)));
            spellings.add("/" + String.join("/", changed));
        }
    }

    private static void eachSlash(String path, Set<String> spellings, List<String> replacements) {
        for (int i = 1; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                for (String replacement : replacements) {
                    spellings.add(path.substring(0, i) + replacement + path.substring(i + 1));
                }
            }
        }
    }

    private static String encodeAll(String path) {
        StringBuilder encoded = new StringBuilder();
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            encoded.append(b == '/' ? "/" : String.format("%%%02X", b));
        }
        return encoded.toString();
    }
}
