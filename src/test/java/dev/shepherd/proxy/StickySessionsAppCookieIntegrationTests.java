package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code fleet.proxy.sticky.app-cookie=JSESSIONID} with real workers that set their own session cookie (the echo
 * worker's {@code /login}): the value pins the client to the worker that set it, an unknown value is balanced, a
 * {@code Max-Age=0} forgets it, and a {@code kill -9} moves it once.
 */
class StickySessionsAppCookieIntegrationTests {

    @Test
    void aSessionCookieTheWorkerSetPinsItsClientsToThatWorker() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.sticky.app-cookie=JSESSIONID")) {
            HttpResponse<String> login = get(shepherd, "/login", null);
            String session = login.headers().firstValue("set-cookie").orElseThrow();
            assertThat(session).startsWith("JSESSIONID=").endsWith("; Path=/; HttpOnly");
            assertThat(login.headers().allValues("set-cookie")).as("the proxy sets no cookie of its own").hasSize(1);
            String cookie = session.substring(0, session.indexOf(';'));
            long pinned = pid(login);
            for (int i = 0; i < 50; i++) {
                assertThat(pid(get(shepherd, "/hello", "theme=dark; " + cookie))).as("request %d", i).isEqualTo(pinned);
            }
            assertThat(pids(shepherd, null)).as("clients without the cookie are balanced").hasSize(2);
            assertThat(pids(shepherd, "JSESSIONID=forged")).as("a value no worker set is balanced").hasSize(2);

            MeterRegistry registry = shepherd.context().getBean(MeterRegistry.class);
            assertThat(registry.counter("shepherd.proxy.sticky", "result", "hit").count()).isEqualTo(50);
            assertThat(registry.counter("shepherd.proxy.sticky", "result", "rebind").count()).isZero();

            HttpResponse<String> logout = get(shepherd, "/logout", cookie);
            assertThat(pid(logout)).isEqualTo(pinned);
            assertThat(logout.headers().firstValue("set-cookie")).hasValueSatisfying(line -> assertThat(line).contains("Max-Age=0"));
            assertThat(pids(shepherd, cookie)).as("a deleted session is forgotten").hasSize(2);
        }
    }

    @Test
    void aSessionWhoseWorkerIsKilledMovesOnceAndStays() {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.sticky.app-cookie=JSESSIONID")) {
            HttpResponse<String> login = get(shepherd, "/login", null);
            String session = login.headers().firstValue("set-cookie").orElseThrow();
            String cookie = session.substring(0, session.indexOf(';'));
            long pinned = pid(login);

            ProcessHandle.of(pinned).ifPresent(ProcessHandle::destroyForcibly);
            long moved = pid(get(shepherd, "/hello", cookie));
            assertThat(moved).isNotEqualTo(pinned);
            await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.readyPids().size() == 2);
            for (int i = 0; i < 30; i++) {
                assertThat(pid(get(shepherd, "/hello", cookie))).as("request %d after the kill", i).isEqualTo(moved);
            }
            MeterRegistry registry = shepherd.context().getBean(MeterRegistry.class);
            assertThat(registry.counter("shepherd.proxy.sticky", "result", "rebind").count()).isEqualTo(1);
        }
    }

    /** The workers that answered ten requests carrying {@code cookie} (none when null). */
    private static Set<Long> pids(RunningShepherd shepherd, String cookie) {
        Set<Long> pids = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            pids.add(pid(get(shepherd, "/hello", cookie)));
        }
        return pids;
    }

    private static HttpResponse<String> get(RunningShepherd shepherd, String path, String cookie) {
        HttpRequest.Builder request = HttpRequest.newBuilder(shepherd.proxy(path)).timeout(Duration.ofSeconds(20));
        if (cookie != null) {
            request.header("Cookie", cookie);
        }
        HttpResponse<String> response = shepherd.send(request.build());
        assertThat(response.statusCode()).isEqualTo(200);
        return response;
    }

    private static long pid(HttpResponse<String> response) {
        String body = response.body();
        return Long.parseLong(body.substring("pid=".length(), body.indexOf('\n')));
    }
}
