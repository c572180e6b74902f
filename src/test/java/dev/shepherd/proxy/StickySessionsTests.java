package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link StickySessions}: tokens and cookie lookups, without a proxy. */
class StickySessionsTests {

    private static final Pattern LINE = Pattern.compile("set-cookie: SRV=([A-Za-z0-9_-]+); Path=/; HttpOnly; SameSite=Lax\r\n");

    private final byte[] key = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private final StickySessions sticky = new StickySessions("SRV", 8, key);

    @Test
    void theSetCookieLineNamesTheSlotWithAnOpaqueTokenThatRoutesBackToIt() {
        for (int slot = 0; slot < 8; slot++) {
            String token = token(sticky.setCookieLine(slot));
            assertThat(token).hasSize(22).doesNotContain(Integer.toString(40_000 + slot));
            assertThat(sticky.slot(cookie("SRV=" + token))).isEqualTo(slot);
        }
    }

    @Test
    void everySlotHasItsOwnToken() {
        Set<String> tokens = new HashSet<>();
        for (int slot = 0; slot < 8; slot++) {
            tokens.add(token(sticky.setCookieLine(slot)));
        }
        assertThat(tokens).hasSize(8);
        assertThat(sticky.setCookieLine(8)).isNull();
    }

    @Test
    void forgedCookieNamesNoSlot() {
        assertThat(sticky.slot(cookie("SRV=" + "A".repeat(22)))).isEqualTo(StickySessions.UNKNOWN);
        assertThat(sticky.slot(cookie("SRV=0"))).as("no token's shape: the application's, perhaps")
                .isEqualTo(StickySessions.FOREIGN);
        assertThat(sticky.slot(cookie("SRV="))).isEqualTo(StickySessions.FOREIGN);
        assertThat(sticky.slot(cookie("SRV=" + "A".repeat(21) + "="))).isEqualTo(StickySessions.FOREIGN);
    }

    @Test
    void aTokenFromAnotherKeyIsStale() {
        byte[] otherKey = Arrays.copyOf(key, key.length);
        otherKey[0] ^= 1;
        String stale = token(new StickySessions("SRV", 8, otherKey).setCookieLine(3));
        assertThat(sticky.slot(cookie("SRV=" + stale))).isEqualTo(StickySessions.UNKNOWN);
    }

    @Test
    void aRequestWithoutOurCookieHasNone() {
        assertThat(sticky.slot(new DefaultHttpHeaders())).isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sticky.slot(cookie("other=1; JSESSIONID=abc"))).isEqualTo(StickySessions.NO_COOKIE);
    }

    @Test
    void ourCookieIsFoundAmongOthersAndInASecondCookieHeader() {
        String token = token(sticky.setCookieLine(5));
        assertThat(sticky.slot(cookie("a=1; SRV=" + token + "; b=2"))).isEqualTo(5);
        HttpHeaders two = new DefaultHttpHeaders().add("Cookie", "a=1").add("Cookie", "SRV=" + token);
        assertThat(sticky.slot(two)).isEqualTo(5);
    }

    @Test
    void aResponseRebindsOnlyWhenTheRequestNamedAnotherSlotOrNone() {
        assertThat(sticky.rebind(2, 2)).isNull();
        assertThat(sticky.rebind(1, 2)).isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 2)).isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2)).isEqualTo(sticky.setCookieLine(2));
    }

    @Test
    void onceAWorkerSetsACookieOfOurNameTheProxySetsItsOwnNoMore() {
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Set-Cookie: SRVX=1", "X-Srv: SRV=1")))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("set-cookie:  SRV =app-session; Path=/"))).isNull();
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 1, head("Content-Type: text/plain")))
                .as("the application's value comes back and names no slot: not overwritten either").isNull();
    }

    @Test
    void aWorkerThatDeletesOurCookieEndsTheBindingWithoutTurningStickinessOff() {
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 2, head("Set-Cookie: SRV=; Max-Age=0; Path=/")))
                .as("the deletion reaches the client alone").isNull();
        assertThat(sticky.rebind(1, 2, head("Set-Cookie: SRV=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT")))
                .as("an Expires in the past deletes too").isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Content-Type: text/plain")))
                .as("still on for the next response").isEqualTo(sticky.setCookieLine(2));
    }

    @Test
    void aWorkerThatSetsOurCookieOnAResponseThatNeedsNoRebindTurnsStickinessOffToo() {
        assertThat(sticky.rebind(2, 2, head("Set-Cookie: SRV=app-session-42; Path=/"))).isNull();
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 1, head("Content-Type: text/plain")))
                .as("the application's value must not be overwritten").isNull();
    }

    @Test
    void aCookieOfOurNameAtAnotherPathOrForADomainIsAnotherCookie() {
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Set-Cookie: SRV=x; Path=/other")))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Set-Cookie: SRV=x; Domain=example.com")))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Content-Type: text/plain")))
                .as("stickiness still on").isEqualTo(sticky.setCookieLine(2));
    }

    @Test
    void aResponseASharedCacheMayStoreGetsNoCookieOfOurs() {
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cache-Control: public, max-age=3600"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("cache-control: max-age=60, S-MAXAGE=600")))
                .isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cache-Control: private, max-age=60")))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("X-Note: public")))
                .isEqualTo(sticky.setCookieLine(2));
    }

    /** Found by an attacking helper (2026-12-04): a CDN's own field, and a lenient cache's reading of odd forms. */
    @Test
    void aResponseACdnIsToldToStoreGetsNoCookieOfOurs() {
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("CDN-Cache-Control: max-age=60"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Surrogate-Control: max-age=60"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("cdn-cache-control: public"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cache-Control: public=\"x\""))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cache-Control: no-cache, S-Maxage = 60"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("CDN-Cache-Control: no-store")))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Surrogate-Control: max-age=60, no-store")))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cloudflare-CDN-Cache-Control: max-age=600"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("vercel-cdn-cache-control: max-age=600"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cache-Control: max-age=60")))
                .as("a browser's cache, not a CDN's").isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Cache-Control: publicity")))
                .isEqualTo(sticky.setCookieLine(2));
    }

    /**
     * Found by an attacking helper (2026-12-04): an application that sends back every cookie it received turned
     * stickiness off for every client with one response.
     */
    @Test
    void aWorkerSendingBackOurOwnTokenIsAnEchoNotAClash() {
        String token = token(sticky.setCookieLine(3));
        assertThat(sticky.rebind(3, 3, head("Set-Cookie: SRV=" + token + "; Path=/"))).isNull();
        assertThat(sticky.rebind(3, 2, head("Set-Cookie: SRV=" + token))).as("rebound after the echo")
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.yielded()).isFalse();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Content-Type: text/plain")))
                .as("stickiness still on").isEqualTo(sticky.setCookieLine(2));

        // A stale token (the master restarted since) or a forged one, echoed: the request's own value (found by an
        // attacking helper: one request with a made-up value turned stickiness off for everyone).
        HttpHeaders stale = new DefaultHttpHeaders().add("Cookie", "a=1; SRV=AAAAAAAAAAAAAAAAAAAAAA");
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 2, head("Set-Cookie: SRV=AAAAAAAAAAAAAAAAAAAAAA; Path=/"), stale))
                .isEqualTo(sticky.setCookieLine(2));
        assertThat(sticky.yielded()).isFalse();

        // The request's value decoded and encoded again (Express's res.cookie): as the request sent it, in effect
        // (found by an attacking helper: one request with SRV=%41 turned stickiness off for everyone).
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 2, head("Set-Cookie: SRV=A; Path=/"), cookie("SRV=%41")))
                .as("left to that response").isNull();
        assertThat(sticky.rebind(StickySessions.UNKNOWN, 2, head("Set-Cookie: SRV=a%2Bb; Path=/"), cookie("SRV=a+b")))
                .isNull();
        assertThat(sticky.rebind(3, 3, head("Set-Cookie: SRV=" + token, "Set-Cookie: SRV=the-apps-own"), stale)).isNull();
        assertThat(sticky.yielded()).isFalse();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Content-Type: text/plain")))
                .as("stickiness still on for everyone").isEqualTo(sticky.setCookieLine(2));

        // Found by a re-attacking helper: values other parsers find where Netty's finds no SRV (Express reads SRV="xy
        // as x; Python's http.cookies finds SRV=zz inside a=1 SRV=zz): a request with any cookie never flips it.
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Set-Cookie: SRV=x"), cookie("SRV=\"xy"))).isNull();
        assertThat(sticky.rebind(StickySessions.NO_COOKIE, 2, head("Set-Cookie: SRV=zz"), cookie("a=1 SRV=zz"))).isNull();
        assertThat(sticky.yielded()).isFalse();

        assertThat(sticky.rebind(3, 3, head("Set-Cookie: SRV=" + token, "Set-Cookie: SRV=the-apps-own"))).isNull();
        assertThat(sticky.yielded()).as("a value of the application's, to a request without any cookie").isTrue();
    }

    /**
     * Found by a re-attacking helper: a client holding our token logged in to an application that sets a cookie of
     * the same name, and the next response's token overwrote the application's session.
     */
    @Test
    void aValueNotShapedAsOurTokensIsTheApplicationsAndNeverOverwritten() {
        String token = token(sticky.setCookieLine(3));
        assertThat(sticky.rebind(3, 3, head("Set-Cookie: SRV=app-session-123; Path=/"), cookie("SRV=" + token)))
                .as("the login's own cookie stands").isNull();
        assertThat(sticky.yielded()).isFalse();

        HttpHeaders next = cookie("SRV=app-session-123");
        assertThat(sticky.slot(next)).isEqualTo(StickySessions.FOREIGN);
        assertThat(sticky.rebind(StickySessions.FOREIGN, 2, head("Content-Type: text/plain"), next))
                .as("balanced, and the application's cookie kept").isNull();
        assertThat(sticky.slot(cookie("SRV=8F3AB1C2D4E5F60718293A4B5C6D7E8F"))).as("Tomcat's JSESSIONID shape")
                .isEqualTo(StickySessions.FOREIGN);
        assertThat(sticky.slot(cookie("SRV=AAAAAAAAAAAAAAAAAAAAAA"))).as("a stale token's shape").isEqualTo(StickySessions.UNKNOWN);
        assertThat(sticky.slot(cookie("SRV=AAAAAAAAAAAAAAAAAAAAAA; SRV=app-session-123"))).as("either may be at Path=/")
                .isEqualTo(StickySessions.FOREIGN);
        assertThat(sticky.slot(cookie("SRV=app-session-123; SRV=" + token))).isEqualTo(3);
    }

    @Test
    void theFirstCookieOfOurNameThatNamesASlotCounts() {
        String token = token(sticky.setCookieLine(3));
        assertThat(sticky.slot(cookie("SRV=stale-at-a-longer-path; SRV=" + token))).isEqualTo(3);
        assertThat(sticky.slot(cookie("SRV=" + "A".repeat(22) + "; SRV=" + "B".repeat(22))))
                .isEqualTo(StickySessions.UNKNOWN);
        assertThat(sticky.slot(cookie("SRV=forged; SRV=also-forged"))).isEqualTo(StickySessions.FOREIGN);
    }

    private static ByteBuf head(String... lines) {
        return Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\n" + String.join("\r\n", lines) + "\r\n",
                StandardCharsets.ISO_8859_1);
    }

    private static HttpHeaders cookie(String value) {
        return new DefaultHttpHeaders().add("Cookie", value);
    }

    private static String token(byte[] line) {
        Matcher matcher = LINE.matcher(new String(line, StandardCharsets.US_ASCII));
        assertThat(matcher.matches()).isTrue();
        return matcher.group(1);
    }
}
