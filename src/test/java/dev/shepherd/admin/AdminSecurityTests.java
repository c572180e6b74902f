package dev.shepherd.admin;

import dev.shepherd.fleet.FleetEvents;
import dev.shepherd.fleet.FleetProperties;
import dev.shepherd.fleet.FleetSnapshot;
import dev.shepherd.fleet.ReloadStatus;
import dev.shepherd.fleet.WorkerFleetService;
import dev.shepherd.fleet.WorkerSnapshot;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.WorkerState;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.webmvc.test.autoconfigure.WebMvcTest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.test.context.TestPropertySource;
import org.springframework.test.context.bean.override.mockito.MockitoBean;
import org.springframework.test.web.servlet.assertj.MockMvcTester;
import org.springframework.test.web.servlet.assertj.MvcTestResult;
import org.springframework.test.web.servlet.request.MockHttpServletRequestBuilder;
import org.springframework.test.web.servlet.request.MockMvcRequestBuilders;

import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

/**
 * The admin API behind the real security chain with a token set: no spelling of any endpoint, with any method,
 * gets past the token, and the right token opens every endpoint.
 */
@WebMvcTest(FleetController.class)
@Import({AdminSecurity.class, AdminSecurityTests.Beans.class})
@EnableConfigurationProperties(FleetProperties.class)
@TestPropertySource(properties = "fleet.admin.token=" + AdminSecurityTests.TOKEN)
@ExtendWith(OutputCaptureExtension.class)
class AdminSecurityTests {

    static final String TOKEN = "sweep-token";

    static class Beans {

        @Bean
        Clock clock() {
            return Clock.systemUTC();
        }
    }

    @Autowired
    private MockMvcTester mvc;

    @MockitoBean
    private WorkerFleetService fleet;

    @MockitoBean
    private FleetEventStream eventStream;

    @MockitoBean
    private TrafficTotals traffic;

    @BeforeEach
    void fleet() {
        FleetSnapshot snapshot = mock(FleetSnapshot.class);
        given(snapshot.workers()).willReturn(List.of(new WorkerSnapshot(1, 0, 4242, 40_001, WorkerState.READY, 1, 0,
                Instant.now(), 0, null, null, null, null, null, null)));
        given(snapshot.inRotation()).willReturn(0);
        given(fleet.snapshot()).willReturn(snapshot);
        given(fleet.events()).willReturn(mock(FleetEvents.class));
        given(fleet.logs(anyInt())).willReturn(Optional.of(new LogBuffer(10)));
        given(fleet.logLines()).willReturn(1000);
        given(fleet.reload(any())).willReturn(new ReloadStatus(ReloadStatus.State.RUNNING, 2, 1, 0, null, null, null, null));
        given(traffic.read()).willReturn(new FleetView.Traffic(0, 0));
    }

    @Test
    void noSpellingOfAnyEndpointWithAnyMethodGetsPastTheToken(CapturedOutput output) {
        List<String> failures = new ArrayList<>();
        int sent = 0;
        for (AdminEndpoint endpoint : concat(AdminEndpoint.FLEET, AdminEndpoint.ACTUATOR)) {
            List<String> spellings = new ArrayList<>(PathSpellings.of(endpoint.path()));
            spellings.add(endpoint.path());
            for (String spelling : spellings) {
                URI uri = uriOrNull(spelling);
                if (uri == null) {
                    continue; // not a URI MockMvc can send; the raw-socket sweep against a real master sends it
                }
                for (String method : AdminEndpoint.METHODS) {
                    sent++;
                    MvcTestResult result = mvc.perform(request(method, uri, endpoint.body(), null));
                    int status = result.getResponse().getStatus();
                    if (status < 300 || status >= 500 || result.getUnresolvedException() != null) {
                        failures.add(method + " " + spelling + " -> " + status + " " + result.getUnresolvedException());
                    }
                }
            }
        }
        assertThat(failures).as("of " + sent + " requests").isEmpty();
        assertThat(sent).isGreaterThan(5000);
        verify(fleet, never()).scale(anyInt());
        verify(fleet, never()).reload(any());
        verify(fleet, never()).replace(anyInt());
        verify(fleet, never()).kill(anyInt(), anyString());
        verify(fleet, never()).snapshot();
        verify(fleet, never()).events();
        verify(fleet, never()).logs(anyInt());
        assertThat(output).doesNotContain("\tat ", "WARN", "ERROR");
    }

    @Test
    void withTheTokenEveryEndpointAnswers() {
        for (AdminEndpoint endpoint : AdminEndpoint.FLEET) {
            MvcTestResult result = mvc.perform(request(endpoint.method(), URI.create(endpoint.path()), endpoint.body(),
                    "Bearer " + TOKEN));
            assertThat(result.getResponse().getStatus()).as(endpoint.method() + " " + endpoint.path()).isBetween(200, 299);
        }
        verify(fleet).scale(3);
        verify(fleet).reload(any());
        verify(fleet).replace(1);
        verify(fleet).kill(1, "KILL");
    }

    @Test
    void noMutationOfTheAuthorizationHeaderOpensAnEndpoint(CapturedOutput output) {
        List<String> mutations = new ArrayList<>(List.of("Bearer", "Bearer ", "Bearer " + TOKEN + "x", "Bearer x" + TOKEN,
                "Bearer " + TOKEN.substring(1), "Bearer " + TOKEN.substring(0, TOKEN.length() - 1), "Bearer\t" + TOKEN,
                "Bearer " + TOKEN + " " + TOKEN, "Bearer " + TOKEN + ",Bearer x", "Bearer x, Bearer " + TOKEN,
                "Basic " + TOKEN, "Token " + TOKEN, TOKEN, "Bearer:" + TOKEN, "Bearer=" + TOKEN, "Bearer \"" + TOKEN + "\"",
                "Bearer " + TOKEN.toUpperCase(), "Bearer " + TOKEN.replace('-', '_'), "Bearer " + TOKEN + "\u0000",
                "Bearer " + TOKEN.replace("e", "\u00e9"), "Bearer %73weep-token", "Bearer " + "x".repeat(10_000),
                "Bearer token=" + TOKEN, "Bearer realm=\"shepherd\", " + TOKEN, "Bearer ''", "B e a r e r " + TOKEN));
        List<String> failures = new ArrayList<>();
        for (AdminEndpoint endpoint : AdminEndpoint.FLEET) {
            for (String authorization : mutations) {
                MvcTestResult result = mvc.perform(request(endpoint.method(), URI.create(endpoint.path()), endpoint.body(),
                        authorization));
                if (result.getResponse().getStatus() != 401 && result.getResponse().getStatus() != 400) {
                    failures.add(endpoint.method() + " " + endpoint.path() + " with " + authorization.substring(0,
                            Math.min(40, authorization.length())) + " -> " + result.getResponse().getStatus());
                }
            }
        }
        assertThat(failures).isEmpty();
        verify(fleet, never()).scale(anyInt());
        verify(fleet, never()).reload(any());
        verify(fleet, never()).replace(anyInt());
        verify(fleet, never()).kill(anyInt(), anyString());
        verify(fleet, never()).snapshot();
        assertThat(output).doesNotContain("\tat ", "WARN", "ERROR");
    }

    @Test
    void junkInOtherHeadersOfAnAuthorizedRequestIsNeverA5xx(CapturedOutput output) {
        List<String> junk = List.of("", ";", "*/*", "application/", "/json", "application/json; charset=nope", "text/html;;;",
                "application/json, text/plain", "x".repeat(2000), "application/json; q=x", "\u00ff\u00fe");
        List<String> failures = new ArrayList<>();
        for (AdminEndpoint endpoint : AdminEndpoint.FLEET) {
            for (String value : junk) {
                // Not Content-Length: Tomcat refuses a malformed one before the application (a raw-socket matter).
                for (String header : List.of("Accept", "Content-Type", "Origin", "Sec-Fetch-Site", "Accept-Charset")) {
                    MockHttpServletRequestBuilder request = request(endpoint.method(), URI.create(endpoint.path()),
                            endpoint.body(), "Bearer " + TOKEN);
                    request.header(header, value);
                    MvcTestResult result = mvc.perform(request);
                    if (result.getUnresolvedException() != null || result.getResponse().getStatus() >= 500) {
                        failures.add(endpoint.method() + " " + endpoint.path() + " " + header + ": " + value + " -> "
                                + (result.getUnresolvedException() != null ? result.getUnresolvedException()
                                : result.getResponse().getStatus()));
                    }
                }
            }
        }
        assertThat(failures).isEmpty();
        assertThat(output).doesNotContain("\tat ", "WARN", "ERROR");
    }

    @Test
    void theSchemeIsCaseInsensitiveAndTheTokenIsNot() {
        assertThat(mvc.perform(request("GET", URI.create("/fleet"), null, "bearer " + TOKEN))).hasStatusOk();
        assertThat(mvc.perform(request("GET", URI.create("/fleet"), null, "BEARER " + TOKEN))).hasStatusOk();
        MvcTestResult wrong = mvc.perform(request("GET", URI.create("/fleet"), null, "Bearer " + TOKEN.toUpperCase()));
        assertThat(wrong).hasStatus(401).hasContentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
                .hasHeader("WWW-Authenticate", "Bearer realm=\"shepherd\", error=\"invalid_token\"");
        assertThat(wrong).bodyJson().extractingPath("$.detail")
                .isEqualTo("wrong token: send Authorization: Bearer <fleet.admin.token>");
    }

    /** Found by a new user: a token sent without its scheme was told error="invalid_token", as if the token were wrong. */
    @Test
    void anAuthorizationHeaderThatIsNotBearerAndATokenIs401WithInvalidRequest() {
        MvcTestResult bare = mvc.perform(request("GET", URI.create("/fleet"), null, TOKEN));
        assertThat(bare).hasStatus(401).hasContentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON)
                .hasHeader("WWW-Authenticate", "Bearer realm=\"shepherd\", error=\"invalid_request\"");
        assertThat(bare).bodyJson().extractingPath("$.detail")
                .isEqualTo("the Authorization header must use the Bearer scheme: send Authorization: Bearer <fleet.admin.token>");

        assertThat(mvc.perform(request("POST", URI.create("/fleet/scale"), "{\"workers\": 1}", "Basic " + TOKEN)))
                .hasStatus(401).hasHeader("WWW-Authenticate", "Bearer realm=\"shepherd\", error=\"invalid_request\"");
        MvcTestResult empty = mvc.perform(request("GET", URI.create("/fleet"), null, "Bearer "));
        assertThat(empty).hasStatus(401)
                .hasHeader("WWW-Authenticate", "Bearer realm=\"shepherd\", error=\"invalid_request\"");
        assertThat(empty).bodyJson().extractingPath("$.detail")
                .isEqualTo("the Authorization header has no token after Bearer: send Authorization: Bearer <fleet.admin.token>");
        verify(fleet, never()).scale(anyInt());
    }

    @Test
    void withoutTheTokenTheAnswerIs401SayingWhatToSend() {
        MvcTestResult missing = mvc.perform(request("POST", URI.create("/fleet/scale"), "{\"workers\": 1}", null));

        assertThat(missing).hasStatus(401).hasHeader("WWW-Authenticate", "Bearer realm=\"shepherd\"")
                .hasContentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(missing).bodyJson().extractingPath("$.detail")
                .isEqualTo("missing Authorization header: send Authorization: Bearer <fleet.admin.token>");
        assertThat(missing).bodyJson().as("as Spring MVC's problems have it").extractingPath("$.instance")
                .isEqualTo("/fleet/scale");
        verify(fleet, never()).scale(anyInt());
    }

    @Test
    void anUnknownPathNeedsTheTokenToo() {
        assertThat(mvc.perform(request("GET", URI.create("/nothing/here"), null, null))).hasStatus(401);
        assertThat(mvc.perform(request("GET", URI.create("/nothing/here"), null, "Bearer " + TOKEN))).hasStatus(404);
    }

    @Test
    void theIssuesExamplesAre400NotTheFleet() {
        assertThat(mvc.perform(request("GET", URI.create("/fleet;x=y"), null, null))).hasStatus(400)
                .hasContentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON);
        assertThat(mvc.perform(request("GET", URI.create("/fleet;x=y"), null, null))).bodyJson()
                .as("no instance: the path is what was rejected").doesNotHavePath("$.instance");
        assertThat(mvc.perform(request("POST", URI.create("/fleet;x=y/scale"), "{\"workers\": 1}", null))).hasStatus(400);
        assertThat(mvc.perform(request("GET", URI.create("/%66leet/events"), null, null))).hasStatus(401);
        verify(fleet, never()).scale(anyInt());
        verify(fleet, never()).events();
    }

    private static MockHttpServletRequestBuilder request(String method, URI uri, String body, String authorization) {
        MockHttpServletRequestBuilder request = MockMvcRequestBuilders.request(HttpMethod.valueOf(method), uri);
        if (body != null) {
            request.contentType(MediaType.APPLICATION_JSON).content(body);
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return request;
    }

    private static URI uriOrNull(String spelling) {
        try {
            return new URI(spelling);
        } catch (java.net.URISyntaxException ex) {
            return null;
        }
    }

    private static List<AdminEndpoint> concat(List<AdminEndpoint> first, List<AdminEndpoint> second) {
        List<AdminEndpoint> all = new ArrayList<>(first);
        all.addAll(second);
        return all;
    }
}
