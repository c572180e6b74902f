package dev.shepherd.proxy;

import dev.shepherd.proxy.ClientConnectionLimit.Verdict;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ClientConnectionLimitTests {

    private final ClientConnectionLimit limit = new ClientConnectionLimit(2, new TrustedProxies(List.of("10.0.0.0/8")),
            System::nanoTime);

    @Test
    void aClientAtTheLimitIsHeldForASecondLookAndRefusedIfItIsStillAtIt() throws Exception {
        admitted("203.0.113.7");
        admitted("203.0.113.7");
        EmbeddedChannel third = new EmbeddedChannel();

        assertThat(limit.admit(peer("203.0.113.7"), third.closeFuture())).isEqualTo(Verdict.RECHECK);
        assertThat(limit.admit(peer("203.0.113.8"), new EmbeddedChannel().closeFuture()))
                .as("another client").isEqualTo(Verdict.ADMIT);
        assertThat(limit.refused()).isZero();

        assertThat(limit.recheck(peer("203.0.113.7"))).isFalse();
        assertThat(limit.refused()).isEqualTo(1);
        third.close(); // as the proxy closes a refused connection
        assertThat(limit.clients()).isEqualTo(2);
    }

    /** A close that the loops had not seen when the next connection came is seen at the second look. */
    @Test
    void aConnectionHeldWhileItsClientsEarlierOneClosesIsAdmittedAtTheSecondLook() throws Exception {
        EmbeddedChannel first = admitted("203.0.113.7");
        admitted("203.0.113.7");
        EmbeddedChannel third = new EmbeddedChannel();
        assertThat(limit.admit(peer("203.0.113.7"), third.closeFuture())).isEqualTo(Verdict.RECHECK);

        first.close();

        assertThat(limit.recheck(peer("203.0.113.7"))).isTrue();
        assertThat(limit.refused()).isZero();
    }

    @Test
    void pastTheHeldConnectionsAClientOverItsLimitIsRefusedAtOnce() throws Exception {
        admitted("203.0.113.7");
        admitted("203.0.113.7");
        for (int i = 0; i < ClientConnectionLimit.MAX_RECHECKS; i++) {
            assertThat(limit.admit(peer("203.0.113.7"), new EmbeddedChannel().closeFuture())).isEqualTo(Verdict.RECHECK);
        }
        assertThat(limit.admit(peer("203.0.113.7"), new EmbeddedChannel().closeFuture())).isEqualTo(Verdict.REFUSE);
        assertThat(limit.refused()).isEqualTo(1);

        assertThat(limit.recheck(peer("203.0.113.7"))).isFalse();
        assertThat(limit.admit(peer("203.0.113.7"), new EmbeddedChannel().closeFuture()))
                .as("one held connection fewer").isEqualTo(Verdict.RECHECK);
    }

    @Test
    void aClientWithNoConnectionLeftHoldsNoEntry() throws Exception {
        EmbeddedChannel one = admitted("198.51.100.1");
        EmbeddedChannel two = admitted("2001:db8::1");
        assertThat(limit.clients()).isEqualTo(2);

        one.close();
        two.close();

        assertThat(limit.clients()).isZero();
    }

    @Test
    void anIpv6ClientIsItsSlash64AndAMappedIpv4AddressIsTheIpv4Client() throws Exception {
        admitted("2001:db8:1:2::1");
        admitted("2001:db8:1:2:ffff::9");
        assertThat(limit.admit(peer("2001:db8:1:2:abcd::1"), new EmbeddedChannel().closeFuture()))
                .as("the same /64").isEqualTo(Verdict.RECHECK);
        assertThat(limit.admit(peer("2001:db8:1:3::1"), new EmbeddedChannel().closeFuture()))
                .as("another /64").isEqualTo(Verdict.ADMIT);

        admitted("192.0.2.5");
        admitted("::ffff:192.0.2.5");
        assertThat(limit.admit(peer("192.0.2.5"), new EmbeddedChannel().closeFuture())).isEqualTo(Verdict.RECHECK);
        assertThat(limit.admit(peer("64:ff9b::192.0.2.5"), new EmbeddedChannel().closeFuture()))
                .as("NAT64 carries the IPv4 client").isEqualTo(Verdict.RECHECK);
        assertThat(limit.admit(peer("64:ff9b::192.0.2.6"), new EmbeddedChannel().closeFuture()))
                .as("another IPv4 client through NAT64").isEqualTo(Verdict.ADMIT);
        assertThat(ClientConnectionLimit.client(InetAddress.getByName("0.0.0.1")))
                .as("IPv4 and IPv6 keys never collide").isNotEqualTo(ClientConnectionLimit.client(InetAddress.getByName("::1")));

        // Every host on a link has the prefix fe80::/64: each link-local address is a client of its own.
        admitted("fe80::1:2:3:4");
        admitted("fe80::1:2:3:4");
        assertThat(limit.admit(peer("fe80::1:2:3:5"), new EmbeddedChannel().closeFuture()))
                .as("another host on the link").isEqualTo(Verdict.ADMIT);
        assertThat(limit.admit(peer("fe80::1:2:3:4"), new EmbeddedChannel().closeFuture()))
                .as("the same host").isEqualTo(Verdict.RECHECK);
    }

    @Test
    void trustedPeersAndAZeroLimitAreNotLimited() throws Exception {
        for (int i = 0; i < 10; i++) {
            assertThat(limit.admit(peer("10.1.2.3"), new EmbeddedChannel().closeFuture())).isEqualTo(Verdict.ADMIT);
        }
        ClientConnectionLimit off = new ClientConnectionLimit(0, new TrustedProxies(List.of()), System::nanoTime);
        for (int i = 0; i < 10; i++) {
            assertThat(off.admit(peer("203.0.113.7"), new EmbeddedChannel().closeFuture())).isEqualTo(Verdict.ADMIT);
        }
        assertThat(limit.clients()).isZero();
        assertThat(off.clients()).isZero();
    }

    private EmbeddedChannel admitted(String address) throws UnknownHostException {
        EmbeddedChannel channel = new EmbeddedChannel();
        assertThat(limit.admit(peer(address), channel.closeFuture())).as(address).isEqualTo(Verdict.ADMIT);
        return channel;
    }

    private static InetSocketAddress peer(String address) throws UnknownHostException {
        return new InetSocketAddress(InetAddress.getByName(address), 40_000);
    }
}
