package dev.shepherd.proxy;

import dev.shepherd.testsupport.RawHttp;
import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Forwarded headers through a real master to an echo worker, from a client on 127.0.0.1: trusted by default (a load
 * balancer on the same host), untrusted when {@code fleet.proxy.trusted-proxies} leaves loopback out. One master at
 * a time: each closes before the next starts, since closing checks that no child process of the test JVM is left.
 */
class ForwardedHeadersIntegrationTests {

    /** What a TLS-terminating load balancer sends, and what a client could forge. */
    private static final String FROM_A_BALANCER = "GET /echo HTTP/1.1\r\nHost: shop.example\r\n"
            + "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"
            + "Forwarded: for=203.0.113.9;proto=https;host=www.example.com\r\nProxy: http://203.0.113.9:8080\r\n"
            + "Connection: close\r\n\r\n";

    @Nested
    class ByDefault {

        private static RunningShepherd shepherd;

        @BeforeAll
        static void start() {
            shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand());
        }

        @AfterAll
        static void stop() {
            shepherd.close();
        }

        @Test
        void balancerOnLoopbackIsTrustedSoItsHttpsReachesTheWorker() {
            String echoed = RawHttp.exchange(shepherd.proxyPort(), FROM_A_BALANCER);

            assertThat(RawHttp.status(echoed)).isEqualTo(200);
            assertThat(echoed).contains("\nx-forwarded-proto: https\n", "\nx-forwarded-for: 203.0.113.9, 127.0.0.1\n",
                    "\nforwarded: for=203.0.113.9;proto=https;host=www.example.com\n", "\nhost: shop.example\n");
            assertThat(echoed).as("the balancer spoke for the origin: no port or host of Shepherd's is mixed in")
                    .doesNotContain("x-forwarded-port", "x-forwarded-host");
            assertThat(echoed).as("httpoxy: not even a trusted peer's Proxy reaches the worker")
                    .doesNotContain("\nproxy:");
        }

        @Test
        void trustedPeerThatSaysNothingGetsWhatShepherdSaw() {
            String echoed = RawHttp.exchange(shepherd.proxyPort(),
                    "GET /echo HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n");

            assertThat(echoed).contains("\nx-forwarded-proto: http\n", "\nx-forwarded-for: 127.0.0.1\n",
                    "\nx-forwarded-host: shop.example\n", "\nx-forwarded-port: " + shepherd.proxyPort() + "\n");
        }

        @Test
        void anHttp10RequestWithoutHostReachesTheWorkerWithTheAddressItCameTo() {
            String echoed = RawHttp.exchange(shepherd.proxyPort(), "GET /echo HTTP/1.0\r\n\r\n");

            assertThat(RawHttp.status(echoed)).isEqualTo(200);
            assertThat(echoed).as("RFC 9112 §3.3's authority: the connection's local address and port")
                    .contains("\nhost: 127.0.0.1:" + shepherd.proxyPort() + "\n").doesNotContain("x-forwarded-host");
            assertThat(RawHttp.status(RawHttp.exchange(shepherd.proxyPort(), "GET /echo HTTP/1.1\r\nHost:\r\n\r\n")))
                    .as("an empty Host names no host (RFC 9110 §4.2.1), as nginx refuses it").isEqualTo(400);
        }
    }

    @Nested
    class WithLoopbackLeftOut {

        private static RunningShepherd shepherd;

        @BeforeAll
        static void start() {
            shepherd = RunningShepherd.startReady("--fleet.workers=1", RunningShepherd.echoWorkerCommand(),
                    "--fleet.proxy.trusted-proxies=10.0.0.0/8");
        }

        @AfterAll
        static void stop() {
            shepherd.close();
        }

        @Test
        void clientsClaimsAreReplacedByWhatShepherdSaw() {
            String echoed = RawHttp.exchange(shepherd.proxyPort(), FROM_A_BALANCER);

            assertThat(RawHttp.status(echoed)).isEqualTo(200);
            assertThat(echoed).contains("\nx-forwarded-proto: http\n", "\nx-forwarded-for: 127.0.0.1\n",
                    "\nx-forwarded-host: shop.example\n", "\nx-forwarded-port: " + shepherd.proxyPort() + "\n");
            assertThat(echoed).doesNotContain("https", "203.0.113.9", "\nforwarded:", "\nproxy:");
        }
    }
}
