package dev.shepherd.proxy;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The protocol upgrade of RFC 9110 §7.8 as the proxy allows it: which of the protocols a client offers go on to a
 * worker, and whether the protocol a worker switched to was offered. {@code h2c} is never in the allowed set
 * (configuration refuses it): a proxy that forwards an h2c upgrade hands the client a raw HTTP/2 connection to the
 * worker that no longer passes through its request checks ("h2c smuggling").
 */
final class Upgrades {

    private Upgrades() {
    }

    /**
     * The offered protocols (each {@code name} or {@code name/version}, lowercase) whose name is in {@code allowed},
     * in the client's order, when {@code Connection} has the {@code upgrade} token; null when nothing is left.
     */
    static List<String> offered(HttpHeaders headers, Set<String> allowed) {
        if (allowed.isEmpty() || !headers.containsValue(HttpHeaderNames.CONNECTION, "upgrade", true)) {
            return null;
        }
        List<String> kept = null;
        for (String value : headers.getAll(HttpHeaderNames.UPGRADE)) {
            for (String token : value.split(",")) {
                String protocol = token.strip().toLowerCase(Locale.ROOT);
                if (!protocol.isEmpty() && allowed.contains(name(protocol))) {
                    if (kept == null) {
                        kept = new ArrayList<>(1);
                    }
                    kept.add(protocol);
                }
            }
        }
        return kept;
    }

    /**
     * Whether {@code chosen} (a worker's {@code Upgrade} value in a {@code 101}: one protocol) is one of
     * {@code offered}, compared without case; a chosen protocol without a version matches an offered one with one.
     */
    static boolean contains(List<String> offered, String chosen) {
        if (chosen == null) {
            return false;
        }
        String protocol = chosen.strip().toLowerCase(Locale.ROOT);
        for (String candidate : offered) {
            if (candidate.equals(protocol) || name(candidate).equals(protocol)) {
                return true;
            }
        }
        return false;
    }

    private static String name(String protocol) {
        int slash = protocol.indexOf('/');
        return slash < 0 ? protocol : protocol.substring(0, slash);
    }
}
