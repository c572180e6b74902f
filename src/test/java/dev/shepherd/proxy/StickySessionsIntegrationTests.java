package dev.shepherd.proxy;

import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.testsupport.RunningShepherd;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code fleet.proxy.sticky.cookie} with real workers: a client that sends back the cookie stays on one worker; a
 * {@code kill -9} of it moves the client once (the response re-binds it) and it stays again; a rolling reload moves
 * it to the new generation once. One master for the class: each test starts from two READY workers and counts the
 * sticky meters from where it found them.
 */
class StickySessionsIntegrationTests {

    /** A client that keeps the sticky cookie as a browser would (the last {@code Set-Cookie} of it wins). */
    private static final class Client {
        private final RunningShepherd shepherd;
        private String cookie;
        private int rebinds;

        Client(RunningShepherd shepherd) {
            this.shepherd = shepherd;
        }

        /** One request; the pid of the worker that answered. */
        long get() {
            HttpRequest.Builder request = HttpRequest.newBuilder(shepherd.proxy("/hello")).timeout(Duration.ofSeconds(20));
            if (cookie != null) {
                request.header("Cookie", "other=1; " + cookie);
            }
            HttpResponse<String> response = shepherd.send(request.build());
            assertThat(response.statusCode()).isEqualTo(200);
            response.headers().allValues("set-cookie").forEach(line -> {
                assertThat(line).startsWith("SRV=").endsWith("; Path=/; HttpOnly; SameSite=Lax");
                cookie = line.substring(0, line.indexOf(';'));
                rebinds++;
            });
            String body = response.body();
            return Long.parseLong(body.substring("pid=".length(), body.indexOf('\n')));
        }
    }

    private static RunningShepherd shepherd;

    @BeforeAll
    static void start() {
        shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.sticky.cookie=SRV");
    }

    @AfterAll
    static void stop() {
        shepherd.close();
    }

    /** A kill or a reload before may still be settling: each test starts from two READY workers and no reload under way. */
    @BeforeEach
    void twoReadyWorkers() {
        await().atMost(Duration.ofSeconds(60)).until(() -> shepherd.snapshot().reload().state() != ReloadStatus.State.RUNNING
                && shepherd.snapshot().workers().size() == 2);
        shepherd.awaitReady(2);
    }

    @Test
    void aStickyCookiePinsAClientThroughAHundredRequestsAndMovesOnceWhenItsWorkerIsKilled() {
        Client client = new Client(shepherd);
        long pinned = client.get();
        assertThat(client.rebinds).as("the first response binds").isEqualTo(1);
        assertThat(client.cookie).doesNotContain(Long.toString(pinned));
        for (int i = 0; i < 100; i++) {
            assertThat(client.get()).as("request %d", i).isEqualTo(pinned);
        }
        assertThat(client.rebinds).isEqualTo(1);

        ProcessHandle.of(pinned).ifPresent(ProcessHandle::destroyForcibly);
        long moved = client.get();
        assertThat(moved).isNotEqualTo(pinned);
        for (int i = 0; i < 100; i++) {
            assertThat(client.get()).as("request %d after the kill", i).isEqualTo(moved);
        }
        assertThat(client.rebinds).as("bound once, moved at most once").isLessThanOrEqualTo(2);
        await().atMost(Duration.ofSeconds(30)).until(() -> shepherd.readyPids().size() == 2);
        for (int i = 0; i < 20; i++) {
            assertThat(client.get()).as("request %d once the replacement is READY", i).isEqualTo(moved);
        }
    }

    @Test
    void aClientWithAForgedCookieIsBalancedAndRebound() {
        double rebinds = sticky("rebind");
        double hits = sticky("hit");
        double news = sticky("new");
        Client client = new Client(shepherd);
        // A token's shape (22 characters of base64url); another value is left alone as the application's.
        String forged = "SRV=" + "f".repeat(22);
        client.cookie = forged;
        long pinned = client.get();
        assertThat(client.rebinds).isEqualTo(1);
        assertThat(client.cookie).isNotEqualTo(forged);
        for (int i = 0; i < 20; i++) {
            assertThat(client.get()).isEqualTo(pinned);
        }
        Set<Long> unpinned = new HashSet<>();
        for (int i = 0; i < 10; i++) {
            unpinned.add(new Client(shepherd).get());
        }
        assertThat(unpinned).as("clients without the cookie are balanced").hasSize(2);
        assertThat(sticky("rebind") - rebinds).isEqualTo(1);
        assertThat(sticky("hit") - hits).isEqualTo(20);
        assertThat(sticky("new") - news).isEqualTo(10);
    }

    @Test
    void aRollingReloadMovesAStickyClientToTheNewGenerationOnce() {
        Client client = new Client(shepherd);
        long pinned = client.get();
        Set<Long> before = new HashSet<>(shepherd.readyPids());
        shepherd.admin("POST", "/fleet/reload", null);
        List<Long> seen = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            seen.add(client.get());
            return shepherd.snapshot().reload().state() == ReloadStatus.State.SUCCEEDED
                    && shepherd.readyPids().size() == 2 && shepherd.snapshot().workers().size() == 2;
        });
        long last = client.get();
        for (int i = 0; i < 20; i++) {
            assertThat(client.get()).isEqualTo(last);
        }
        assertThat(before).doesNotContain(last);
        seen.add(last);
        int moves = 0;
        long previous = pinned;
        for (long pid : seen) {
            if (pid != previous) {
                moves++;
                previous = pid;
            }
        }
        assertThat(moves).as("workers in turn: %s", seen).isEqualTo(1);
    }

    /** The proxy's count of sticky requests with this result, since the shared master started. */
    private static double sticky(String result) {
        return shepherd.context().getBean(MeterRegistry.class).counter("shepherd.proxy.sticky", "result", result).count();
    }
}
