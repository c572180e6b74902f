package dev.shepherd.proxy;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A new user names the proxy's sticky cookie after the application's own session cookie
 * ({@code fleet.proxy.sticky.cookie=JSESSIONID}): the proxy must not overwrite the worker's session cookie with its
 * token, on that response or any later one (the application's value names no slot), which would end every
 * session.
 */
class StickySessionsNameClashIntegrationTests {

    @Test
    @org.junit.jupiter.api.extension.ExtendWith(org.springframework.boot.test.system.OutputCaptureExtension.class)
    void aCookieTheWorkerSetsItselfIsLeftToTheWorker(org.springframework.boot.test.system.CapturedOutput output) {
        try (RunningShepherd shepherd = RunningShepherd.startReady("--fleet.workers=2", RunningShepherd.echoWorkerCommand(),
                "--fleet.proxy.sticky.cookie=JSESSIONID")) {
            assertThat(yielded(shepherd)).as("before any worker set the cookie").isZero();
            HttpResponse<String> login = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/login"))
                    .timeout(Duration.ofSeconds(20)).build());
            assertThat(login.statusCode()).isEqualTo(200);
            assertThat(login.headers().allValues("set-cookie")).as("only the worker's session cookie").singleElement()
                    .satisfies(line -> assertThat(line).endsWith("; Path=/; HttpOnly").doesNotContain("SameSite"));
            String session = login.headers().firstValue("set-cookie").orElseThrow();
            for (int i = 0; i < 4; i++) {
                HttpResponse<String> later = shepherd.send(HttpRequest.newBuilder(shepherd.proxy("/hello"))
                        .header("Cookie", session.substring(0, session.indexOf(';'))).timeout(Duration.ofSeconds(20)).build());
                assertThat(later.statusCode()).isEqualTo(200);
                assertThat(later.headers().allValues("set-cookie")).as("the session cookie is not overwritten").isEmpty();
            }
            assertThat(yielded(shepherd)).as("sticky sessions by the cookie are off, and the gauge says so").isOne();
            assertThat(output.getOut()).as("the warning says which worker did it")
                    .containsPattern("The worker of index [01] set the cookie JSESSIONID itself");
        }
    }

    private static double yielded(RunningShepherd shepherd) {
        return shepherd.context().getBean(io.micrometer.core.instrument.MeterRegistry.class)
                .get("shepherd.proxy.sticky.cookie.yielded").gauge().value();
    }
}
