package dev.shepherd.proxy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class TrustedProxiesTests {

    /** Tomcat 11's RemoteIpValve internalProxies, the default of fleet.proxy.trusted-proxies. */
    static final List<String> TOMCAT_INTERNAL_PROXIES = List.of("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
            "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "::1/128", "fe80::/10", "fc00::/7");

    private final TrustedProxies internal = new TrustedProxies(TOMCAT_INTERNAL_PROXIES);

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.255.0.9", "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255",
            "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "::1", "fe80::1", "febf::1", "fc00::1",
            "fd12:3456::7"})
    void loopbackAndPrivateAddressesAreTrustedByDefault(String address) throws UnknownHostException {
        assertThat(internal.trusts(InetAddress.getByName(address))).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"192.0.2.10", "8.8.8.8", "11.0.0.1", "172.15.255.255", "172.32.0.1", "192.169.0.1",
            "100.63.255.255", "100.128.0.1", "2001:db8::7", "::2", "fec0::1", "fe00::1"})
    void publicAddressesAreNotTrustedByDefault(String address) throws UnknownHostException {
        assertThat(internal.trusts(InetAddress.getByName(address))).isFalse();
    }

    /** nginx's realip with real_ip_recursive: from the right, the first address that is no trusted proxy. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "203.0.113.9, 10.0.0.1, 127.0.0.1 | 203.0.113.9",
            "198.51.100.1, 203.0.113.9, 10.0.0.1, 127.0.0.1 | 203.0.113.9",
            "10.0.0.2, 10.0.0.1, 127.0.0.1 | 10.0.0.2",
            "127.0.0.1 | 127.0.0.1",
            "evil.example, 10.0.0.1, 127.0.0.1 | 10.0.0.1",
            "203.0.113.9:4711, 127.0.0.1 | 127.0.0.1",
            "203.0.113.9,,  , 127.0.0.1 | 203.0.113.9",
            "2001:db8::7, ::1 | 2001:db8::7",
            "::ffff:203.0.113.9, 127.0.0.1 | 203.0.113.9",
            "'' | 127.0.0.1"})
    void theClientIsTheRightmostAddressThatIsNoTrustedProxy(String chain, String client) {
        assertThat(internal.client(List.of(chain), "127.0.0.1")).isEqualTo(client);
    }

    @Test
    void theClientIsFoundAcrossFieldLinesTheLastLineFirst() {
        assertThat(internal.client(List.of("203.0.113.9, 10.0.0.3", "10.0.0.2", "127.0.0.1"), "127.0.0.1"))
                .isEqualTo("203.0.113.9");
        assertThat(internal.client(List.of("203.0.113.9", "198.51.100.1, 127.0.0.1"), "127.0.0.1"))
                .isEqualTo("198.51.100.1");
    }

    /** A new user found the default's trust of private networks in the README only: the start-up line says it. */
    @Test
    void theStartUpLineSaysWhoseForwardedHeadersPassAndWarnsOfPrivateNetworks() {
        assertThat(new TrustedProxies(List.of("127.0.0.0/8", "10.0.0.0/8")).describe()).isEqualTo("X-Forwarded-* and "
                + "Forwarded from 127.0.0.0/8, 10.0.0.0/8 reach the workers as sent: any client on those networks can "
                + "set them, so narrow fleet.proxy.trusted-proxies to your balancers (or empty it) where clients reach "
                + "the proxy from one");
        assertThat(new TrustedProxies(List.of("fc00::/7")).describe()).contains("any client on those networks");
        assertThat(new TrustedProxies(List.of("127.0.0.1", "10.0.12.7")).describe()).isEqualTo("X-Forwarded-* and "
                + "Forwarded from 127.0.0.1, 10.0.12.7 reach the workers as sent, every other peer's are replaced by "
                + "what Shepherd saw");
        assertThat(new TrustedProxies(List.of()).describe()).startsWith("every peer's X-Forwarded-* and Forwarded are "
                + "replaced");
    }

    @Test
    void emptyListTrustsNobodyNotEvenLoopback() throws UnknownHostException {
        TrustedProxies nobody = new TrustedProxies(List.of());

        assertThat(nobody.trusts(InetAddress.getByName("127.0.0.1"))).isFalse();
        assertThat(nobody.trusts(InetAddress.getByName("::1"))).isFalse();
    }

    @Test
    void rangeThatExcludesLoopbackDoesNotTrustIt() throws UnknownHostException {
        TrustedProxies balancers = new TrustedProxies(List.of("10.0.0.0/8"));

        assertThat(balancers.trusts(InetAddress.getByName("10.20.30.40"))).isTrue();
        assertThat(balancers.trusts(InetAddress.getByName("127.0.0.1"))).isFalse();
    }

    @Test
    void singleAddressWithoutPrefixTrustsThatAddressOnly() throws UnknownHostException {
        TrustedProxies one = new TrustedProxies(List.of("203.0.113.5", "2001:db8::1"));

        assertThat(one.trusts(InetAddress.getByName("203.0.113.5"))).isTrue();
        assertThat(one.trusts(InetAddress.getByName("203.0.113.6"))).isFalse();
        assertThat(one.trusts(InetAddress.getByName("2001:db8::1"))).isTrue();
        assertThat(one.trusts(InetAddress.getByName("2001:db8::2"))).isFalse();
    }

    @Test
    void ipv4RangeDoesNotMatchAnIpv6PeerNorTheOtherWayRound() throws UnknownHostException {
        TrustedProxies v4 = new TrustedProxies(List.of("0.0.0.0/0"));
        TrustedProxies v6 = new TrustedProxies(List.of("::/0"));

        assertThat(v4.trusts(InetAddress.getByName("2001:db8::7"))).isFalse();
        assertThat(v6.trusts(InetAddress.getByName("192.0.2.10"))).isFalse();
        assertThat(v6.trusts(InetAddress.getByName("2001:db8::7"))).isTrue();
    }

    @Test
    void rangeNeverMatchesAPeerOfTheOtherFamilyWithTheSameLeadingBytes() throws UnknownHostException {
        // Spring Security 7.1 alone compares the raw bytes (spring-security#19329, #19733).
        TrustedProxies v4 = new TrustedProxies(List.of("32.1.0.0/16"));
        TrustedProxies v6 = new TrustedProxies(List.of("2001:db8::/64", "::1/128"));

        assertThat(v4.trusts(InetAddress.getByName("2001:db8::1"))).isFalse();
        assertThat(v4.trusts(InetAddress.getByName("32.1.2.3"))).isTrue();
        assertThat(v6.trusts(InetAddress.getByName("32.1.13.184"))).as("no exception either").isFalse();
        assertThat(v6.trusts(InetAddress.getByName("0.0.0.0"))).isFalse();
        assertThat(internal.trusts(InetAddress.getByName("a00::1"))).as("not 10.0.0.0/8").isFalse();
        assertThat(internal.trusts(InetAddress.getByName("252.0.0.1"))).as("not fc00::/7").isFalse();
    }

    @Test
    void ipv4MappedPeerOfADualStackSocketCountsAsItsIpv4Address() throws UnknownHostException {
        InetAddress mapped = mapped(10, 1, 2, 3);
        assertThat(mapped).isInstanceOf(Inet6Address.class);

        assertThat(internal.trusts(mapped)).isTrue();
        assertThat(new TrustedProxies(List.of("10.1.2.0/24")).trusts(mapped)).isTrue();
        assertThat(internal.trusts(mapped(192, 0, 2, 10))).isFalse();
    }

    @Test
    void noAddressIsNotTrusted() {
        assertThat(internal.trusts(null)).isFalse();
    }

    /** {@code ::ffff:a.b.c.d} as an Inet6Address, the way a dual-stack socket may report an IPv4 peer. */
    static InetAddress mapped(int a, int b, int c, int d) throws UnknownHostException {
        byte[] bytes = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) a, (byte) b, (byte) c, (byte) d};
        return Inet6Address.getByAddress(null, bytes, -1);
    }
}
