package dev.shepherd.proxy;

import io.netty.util.NetUtil;
import org.springframework.security.util.matcher.InetAddressMatcher;
import org.springframework.security.util.matcher.InetAddressMatchers;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * The peers whose forwarded headers are believed ({@code fleet.proxy.trusted-proxies}): IP addresses and CIDR
 * ranges, parsed once at start by Spring Security's {@link InetAddressMatchers} (the entries were validated when the
 * properties were bound). An IPv4 range matches only IPv4 peers and an IPv6 range only IPv6 peers, except that a peer
 * seen as an IPv4-mapped IPv6 address ({@code ::ffff:10.1.2.3}, a dual-stack socket) counts as the IPv4 address it
 * carries. Immutable; used from any thread.
 */
final class TrustedProxies {

    /** Addresses of private networks, one per range that a list trusting them would cover (RFC 1918, 6598, 4193). */
    private static final List<String> PRIVATE = List.of("10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "fd00::1");

    private final List<String> entries;
    private final List<Range> ranges;

    /** @throws IllegalArgumentException for an entry that is no IP address or CIDR range */
    TrustedProxies(List<String> ranges) {
        this.entries = List.copyOf(ranges);
        this.ranges = ranges.stream().map(Range::parse).toList();
    }

    /**
     * What the proxy does with forwarded headers, for its start-up line: a new user found the default's trust of
     * private networks in the README only, where nginx trusts nobody by default.
     */
    String describe() {
        if (entries.isEmpty()) {
            return "every peer's X-Forwarded-* and Forwarded are replaced by what Shepherd saw (fleet.proxy.trusted-proxies "
                    + "is empty)";
        }
        String trusted = "X-Forwarded-* and Forwarded from " + String.join(", ", entries) + " reach the workers as sent";
        boolean privateNetworks = PRIVATE.stream().anyMatch(address -> {
            try {
                return trusts(InetAddress.getByName(address));
            } catch (UnknownHostException literal) {
                return false;
            }
        });
        return privateNetworks ? trusted + ": any client on those networks can set them, so narrow "
                + "fleet.proxy.trusted-proxies to your balancers (or empty it) where clients reach the proxy from one"
                : trusted + ", every other peer's are replaced by what Shepherd saw";
    }

    /** Whether a peer at {@code address} is trusted; false for null. Called once per client connection. */
    boolean trusts(InetAddress address) {
        if (address == null) {
            return false;
        }
        InetAddress peer = unmapped(address);
        for (Range range : ranges) {
            if (range.family() == peer.getClass() && range.matcher().matches(peer)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The client an {@code X-Forwarded-For} chain vouched for by a trusted peer names, as nginx's realip module finds
     * it with {@code real_ip_recursive on}: from the right, the first address that is not a trusted proxy; the
     * leftmost when all are; at an element that is no IP address (a name, an address with a port, junk) the walk
     * stops and the address to its right is the client. Element per element, no lookup (IP literals only), so the
     * cost is bounded by the header's size limit. On the event loop, for the access log.
     *
     * @param lines the {@code X-Forwarded-For} field lines as forwarded, the peer appended last
     * @param peer  the peer, the answer when no line holds an address
     * @return the client's address, as {@link NetUtil#toAddressString(InetAddress)} writes it
     */
    String client(List<String> lines, String peer) {
        String client = peer;
        for (int line = lines.size() - 1; line >= 0; line--) {
            String chain = lines.get(line);
            for (int end = chain.length(); end > 0; ) {
                int comma = chain.lastIndexOf(',', end - 1);
                String element = chain.substring(comma + 1, end).trim();
                end = Math.max(comma, 0);
                if (element.isEmpty()) {
                    continue; // RFC 9110 §5.6.1: empty list elements are ignored
                }
                InetAddress address = NetUtil.createInetAddressFromIpAddressString(element);
                if (address == null) {
                    return client;
                }
                address = unmapped(address);
                client = NetUtil.toAddressString(address);
                if (!trusts(address)) {
                    return client;
                }
            }
        }
        return client;
    }

    /** The IPv4 address an IPv4-mapped IPv6 address carries; any other address as it is. */
    static InetAddress unmapped(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address;
        }
        try {
            // getByAddress gives an Inet4Address for the 16 bytes of ::ffff:a.b.c.d, and changes no other address.
            InetAddress plain = InetAddress.getByAddress(address.getAddress());
            return plain instanceof Inet6Address ? address : plain;
        } catch (UnknownHostException ex) {
            return address;
        }
    }

    /**
     * One entry and the address family it belongs to. Spring Security 7.1 compares the bytes of two addresses of any
     * families (spring-security#19329, #19733: {@code 32.1.0.0/16} would match {@code 2001::/16}, and an IPv6 range
     * can throw on an IPv4 peer), so the family is checked first, as Spring Security did before 7.1.
     */
    private record Range(InetAddressMatcher matcher, Class<? extends InetAddress> family) {

        static Range parse(String entry) {
            int slash = entry.indexOf('/');
            try {
                // A literal, as validated (CidrRange): no name is looked up. Spring Security parses it the same way.
                InetAddress address = InetAddress.getByName(slash < 0 ? entry : entry.substring(0, slash));
                return new Range(InetAddressMatchers.fromIpAddress(entry), address.getClass());
            } catch (UnknownHostException ex) {
                throw new IllegalArgumentException("not an IP address or CIDR range: " + entry, ex);
            }
        }
    }
}
