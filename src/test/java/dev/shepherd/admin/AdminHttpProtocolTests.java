package dev.shepherd.admin;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.assertj.core.api.Assertions.assertThat;

/** Who counts as one client for {@code fleet.admin.max-connections-per-client}. */
class AdminHttpProtocolTests {

    @Test
    void anIpv4AddressIsOneClientAndAnIpv6Slash64IsOne() throws Exception {
        assertThat(AdminHttpProtocol.clientKey(InetAddress.getByName("192.0.2.7")))
                .isEqualTo(AdminHttpProtocol.clientKey("192.0.2.7"))
                .as("mapped into IPv6 (Tomcat's literal of a dual-stack socket), or through NAT64")
                .isEqualTo(AdminHttpProtocol.clientKey("::ffff:192.0.2.7"))
                .isEqualTo(AdminHttpProtocol.clientKey("64:ff9b::c000:207"))
                .isNotEqualTo(AdminHttpProtocol.clientKey("192.0.2.8"));
        assertThat(AdminHttpProtocol.clientKey(InetAddress.getByName("2001:db8:1:2::1")))
                .isEqualTo(AdminHttpProtocol.clientKey("2001:db8:1:2:ffff:ffff:ffff:ffff"))
                .as("the address as Tomcat writes it").isEqualTo(AdminHttpProtocol.clientKey("2001:db8:1:2:0:0:0:1"))
                .isNotEqualTo(AdminHttpProtocol.clientKey("2001:db8:1:3::1"));
        assertThat(AdminHttpProtocol.clientKey((String) null)).isEqualTo("");
        assertThat(AdminHttpProtocol.clientKey("999.1.1.1")).as("no literal: kept as text, never looked up")
                .isEqualTo("999.1.1.1");
    }

    /** Every host on a link has the prefix fe80::/64: a link-local client is its whole address. */
    @Test
    void aLinkLocalClientIsItsWholeAddress() {
        assertThat(AdminHttpProtocol.clientKey("fe80:0:0:0:1:2:3:4%2"))
                .isEqualTo(AdminHttpProtocol.clientKey("fe80::1:2:3:4"))
                .isNotEqualTo(AdminHttpProtocol.clientKey("fe80::1:2:3:5"));
    }
}
