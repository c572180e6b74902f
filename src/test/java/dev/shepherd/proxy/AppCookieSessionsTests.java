package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link AppCookieSessions}: what a worker's Set-Cookie teaches, what a request's Cookie finds, and the bounds. */
class AppCookieSessionsTests {

    private final AppCookieSessions sessions = new AppCookieSessions("JSESSIONID", 100);

    @Test
    void aValueAWorkerSetsRoutesLaterRequestsToItsSlot() {
        sessions.answered(null, StickySessions.NO_COOKIE, 3, head("Set-Cookie: JSESSIONID=abc123; Path=/; HttpOnly"));
        String value = sessions.value(cookie("theme=dark; JSESSIONID=abc123"));
        assertThat(value).isEqualTo("abc123");
        assertThat(sessions.slot(value)).isEqualTo(3);
    }

    @Test
    void theHeaderNameIsMatchedWithoutCaseAndOtherCookiesAreIgnored() {
        sessions.answered(null, StickySessions.NO_COOKIE, 1, head("set-cookie: other=x", "SET-COOKIE:JSESSIONID=v1",
                "X-Set-Cookie: JSESSIONID=v2", "Set-Cookie: jsessionid=v3"));
        assertThat(sessions.slot("v1")).isEqualTo(1);
        assertThat(sessions.slot("x")).isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sessions.slot("v2")).as("another header").isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sessions.slot("v3")).as("cookie names are case-sensitive").isEqualTo(StickySessions.NO_COOKIE);
    }

    @Test
    void aValueNoWorkerSetIsUnknownAndNotRemembered() {
        String forged = sessions.value(cookie("JSESSIONID=forged"));
        assertThat(sessions.slot(forged)).isEqualTo(StickySessions.NO_COOKIE);
        sessions.answered(forged, StickySessions.NO_COOKIE, 2, head("Content-Type: text/plain"));
        assertThat(sessions.slot(forged)).isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sessions.size()).isZero();
    }

    @Test
    void aRequestWithoutTheCookieHasNoValue() {
        assertThat(sessions.value(new DefaultHttpHeaders())).isNull();
        assertThat(sessions.value(cookie("other=1"))).isNull();
        assertThat(sessions.slot(null)).isEqualTo(StickySessions.NO_COOKIE);
    }

    @Test
    void maxAgeZeroForgetsTheBinding() {
        sessions.answered(null, StickySessions.NO_COOKIE, 1, head("Set-Cookie: JSESSIONID=abc; Path=/"));
        sessions.answered("abc", 1, 1, head("Set-Cookie: JSESSIONID=abc; Max-Age=0; Path=/"));
        assertThat(sessions.slot("abc")).isEqualTo(StickySessions.NO_COOKIE);
    }

    @Test
    void anEmptyValueOrAnExpiryInThePastForgetsTheRequestsBinding() {
        sessions.answered(null, StickySessions.NO_COOKIE, 1, head("Set-Cookie: JSESSIONID=a", "Set-Cookie: JSESSIONID=b"));
        assertThat(sessions.slot("b")).isEqualTo(1);
        sessions.answered("a", 1, 1, head("Set-Cookie: JSESSIONID=; Path=/"));
        sessions.answered("b", 1, 1, head("Set-Cookie: JSESSIONID=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"));
        assertThat(sessions.slot("a")).isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sessions.slot("b")).isEqualTo(StickySessions.NO_COOKIE);
    }

    @Test
    void aDeletionAtAnotherPathOrDomainLeavesTheRequestsLiveValue() {
        sessions.answered(null, StickySessions.NO_COOKIE, 1, head("Set-Cookie: JSESSIONID=live; Path=/"));
        sessions.answered("live", 1, 1, head("Set-Cookie: JSESSIONID=; Path=/legacy; Max-Age=0"));
        sessions.answered("live", 1, 1, head("Set-Cookie: JSESSIONID=live; Domain=other.example; Max-Age=0"));
        assertThat(sessions.slot("live")).as("the browser still sends it from Path=/").isEqualTo(1);
    }

    @Test
    void aRememberedValueServedByAnotherSlotMovesThere() {
        sessions.answered(null, StickySessions.NO_COOKIE, 0, head("Set-Cookie: JSESSIONID=abc"));
        sessions.answered("abc", 0, 1, head("Content-Type: text/plain"));
        assertThat(sessions.slot("abc")).isEqualTo(1);
    }

    @Test
    void aRememberedValueServedElsewhereWhileItsSlotWasBusyStaysButTheServersNewValuesBindThere() {
        sessions.answered(null, StickySessions.NO_COOKIE, 0, head("Set-Cookie: JSESSIONID=abc"));
        sessions.answered("abc", 0, 0, 1, head("Set-Cookie: JSESSIONID=def"));
        assertThat(sessions.slot("abc")).isZero();
        assertThat(sessions.slot("def")).isEqualTo(1);
    }

    @Test
    void aNewValueFromTheWorkerReplacesTheBinding() {
        sessions.answered(null, StickySessions.NO_COOKIE, 0, head("Set-Cookie: JSESSIONID=abc"));
        sessions.answered(null, StickySessions.NO_COOKIE, 2, head("Set-Cookie: JSESSIONID=abc"));
        assertThat(sessions.slot("abc")).isEqualTo(2);
    }

    @Test
    void valuesLongerThanTheLimitAreNeitherRememberedNorLookedUp() {
        String longest = "x".repeat(AppCookieSessions.MAX_VALUE_LENGTH);
        String tooLong = longest + "y";
        sessions.answered(null, StickySessions.NO_COOKIE, 1, head("Set-Cookie: JSESSIONID=" + tooLong,
                "Set-Cookie: JSESSIONID=" + longest));
        assertThat(sessions.size()).isEqualTo(1);
        assertThat(sessions.value(cookie("JSESSIONID=" + tooLong))).isNull();
        assertThat(sessions.slot(sessions.value(cookie("JSESSIONID=" + longest)))).isEqualTo(1);
    }

    @Test
    void theMapNeverHoldsMoreThanItsMaximum() {
        for (int i = 0; i < 5_000; i++) {
            sessions.answered(null, StickySessions.NO_COOKIE, i % 4, head("Set-Cookie: JSESSIONID=session-" + i));
        }
        assertThat(sessions.size()).isLessThanOrEqualTo(100);
        long remembered = 0;
        for (int i = 0; i < 5_000; i++) {
            if (sessions.slot("session-" + i) == i % 4) {
                remembered++;
            }
        }
        assertThat(remembered).isBetween(1L, 100L);
    }

    /**
     * Found by attacking helpers: a client whose requests each got a new session, or a worker setting 100 values a
     * response, flushed the bindings clients were using, while the map was less than half full when they were used.
     */
    @Test
    void valuesClientsUseOutliveAFloodOfValuesNobodySent() {
        java.util.concurrent.atomic.AtomicInteger forgotten = new java.util.concurrent.atomic.AtomicInteger();
        AppCookieSessions bounded = new AppCookieSessions("JSESSIONID", 1_000, forgotten::incrementAndGet);
        for (int i = 0; i < 20; i++) {
            bounded.answered(null, StickySessions.NO_COOKIE, i % 4, head("Set-Cookie: JSESSIONID=user" + i + "; Path=/"));
        }
        for (int use = 0; use < 4; use++) {
            for (int i = 0; i < 20; i++) {
                assertThat(bounded.slot("user" + i)).isEqualTo(i % 4);
            }
        }
        for (int i = 0; i < 3_000; i++) {
            bounded.answered(null, StickySessions.NO_COOKIE, 3, head("Set-Cookie: JSESSIONID=minted" + i));
        }
        for (int i = 0; i < 100; i++) {
            String[] many = new String[100];
            for (int j = 0; j < many.length; j++) {
                many[j] = "Set-Cookie: JSESSIONID=worker" + i + "-" + j;
            }
            bounded.answered(null, StickySessions.NO_COOKIE, 3, head(many));
        }

        for (int i = 0; i < 20; i++) {
            assertThat(bounded.slot("user" + i)).as("user%d", i).isEqualTo(i % 4);
        }
        assertThat(bounded.size()).isLessThanOrEqualTo(1_000);
        assertThat(forgotten.get()).as("each value forgotten for the bound is counted")
                .isEqualTo(20 + 3_000 + 100 - bounded.size());
    }

    @Test
    void aResponseSettingTheCookieManyTimesBindsOnlyTheLastValueAsABrowserKeepsIt() {
        sessions.answered(null, StickySessions.NO_COOKIE, 2, head("Set-Cookie: JSESSIONID=first; Path=/",
                "Set-Cookie: JSESSIONID=second; Path=/", "Set-Cookie: other=x", "Set-Cookie: JSESSIONID=last; Path=/"));

        assertThat(sessions.slot("last")).isEqualTo(2);
        assertThat(sessions.slot("first")).isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sessions.slot("second")).isEqualTo(StickySessions.NO_COOKIE);
        assertThat(sessions.size()).isEqualTo(1);
    }

    @Test
    void aBindingIsUsableFromManyThreadsAtOnce() throws InterruptedException {
        AppCookieSessions shared = new AppCookieSessions("JSESSIONID", 1_000);
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            int slot = t;
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 2_000; i++) {
                    shared.answered(null, StickySessions.NO_COOKIE, slot, head("Set-Cookie: JSESSIONID=t" + slot + "-" + i));
                    shared.slot("t" + slot + "-" + (i / 2));
                }
            });
            threads[t].start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertThat(shared.size()).isLessThanOrEqualTo(1_000);
        for (int t = 0; t < threads.length; t++) {
            int slot = shared.slot("t" + t + "-1999");
            assertThat(slot).isIn(t, StickySessions.NO_COOKIE);
        }
    }

    /** Found by an attacking helper: 1,000,000 allowed under -Xmx128m ended the master on an OutOfMemoryError. */
    @Test
    void theEntriesAreLoweredToWhatAQuarterOfTheHeapHolds() {
        long mb128 = 128L << 20;
        assertThat(AppCookieSessions.fit(1_000_000, mb128)).isEqualTo((int) (mb128 / 4 / AppCookieSessions.BYTES_PER_ENTRY))
                .isLessThan(110_000);
        assertThat(AppCookieSessions.fit(100_000, mb128)).as("the default fits the README's 128 MB").isEqualTo(100_000);
        assertThat(AppCookieSessions.fit(1_000_000, 4L << 30)).isEqualTo(1_000_000);
        assertThat(AppCookieSessions.fit(1_000_000, Long.MAX_VALUE)).as("no heap limit known").isEqualTo(1_000_000);
        assertThat(AppCookieSessions.fit(1_000, 1)).isEqualTo(1);
    }

    private static HttpHeaders cookie(String value) {
        return new DefaultHttpHeaders().add("Cookie", value);
    }

    /** A response head as the decoder hands it on: status line and header lines, CRLF after each. */
    private static ByteBuf head(String... lines) {
        StringBuilder head = new StringBuilder("HTTP/1.1 200 OK\r\n");
        for (String line : lines) {
            head.append(line).append("\r\n");
        }
        return Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1);
    }
}
