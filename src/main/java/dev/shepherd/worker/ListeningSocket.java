package dev.shepherd.worker;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * A TCP socket that listens, as the kernel's socket tables show it: its local address and port. An IPv4-mapped IPv6
 * address ({@code ::ffff:127.0.0.1}) is its IPv4 address, as {@link InetAddress#getByAddress(byte[])} makes it.
 *
 * @param address the address it listens on: a wildcard ({@code 0.0.0.0}, {@code ::}) for every address
 * @param port its port, 1 to 65535
 */
public record ListeningSocket(InetAddress address, int port) {

    /**
     * Whether a connection to 127.0.0.1 on its port reaches it: on 127.0.0.1 or on every address. One on {@code ::}
     * counts, as it takes IPv4 connections unless {@code IPV6_V6ONLY} is set, which the socket tables do not show.
     */
    public boolean takesLoopbackIpv4() {
        return address.isAnyLocalAddress() || address.getHostAddress().equals("127.0.0.1");
    }

    /** Whether it listens on IPv6's loopback address, {@code ::1}, which no connection to 127.0.0.1 reaches. */
    public boolean onIpv6Loopback() {
        return address instanceof Inet6Address && address.isLoopbackAddress();
    }

    /** As a URL writes it: {@code 127.0.0.1:3000}, {@code [::1]:3000}, {@code [fd00::5]:3000}. */
    @Override
    public String toString() {
        return (address instanceof Inet6Address ? "[" + compressed(address.getAddress()) + "]" : address.getHostAddress())
                + ":" + port;
    }

    /** An IPv6 address as RFC 5952 writes it: the longest run of two or more zero groups, the first such, as {@code ::}. */
    static String compressed(byte[] address) {
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (address[2 * i] & 0xff) << 8 | address[2 * i + 1] & 0xff;
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int start = 0; start < 8; ) {
            int end = start;
            while (end < 8 && groups[end] == 0) {
                end++;
            }
            if (end - start > bestLength) {
                bestStart = start;
                bestLength = end - start;
            }
            start = Math.max(end, start + 1);
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
            } else {
                text.append(text.isEmpty() || text.charAt(text.length() - 1) == ':' ? "" : ":")
                        .append(Integer.toHexString(groups[i]));
            }
        }
        return text.toString();
    }
}
