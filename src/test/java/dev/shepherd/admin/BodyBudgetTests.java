package dev.shepherd.admin;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BodyBudgetTests {

    private final AtomicInteger passed = new AtomicInteger();
    private final FilterChain counting = (request, response) -> passed.incrementAndGet();

    @Test
    void aRequestWithoutABodyPasses() throws Exception {
        MockHttpServletResponse response = run(new BodyBudget(), post(-1), counting);
        assertThat(passed).hasValue(1);
        assertThat(response.getStatus()).isEqualTo(200);
    }

    @Test
    void bodiesOfReadsAreNotCounted() throws Exception {
        BodyBudget budget = new BodyBudget(10);
        MockHttpServletRequest get = post(BodyBudget.MAX_BODY_BYTES + 1);
        get.setMethod("GET");
        FilterChain checking = (request, response) -> {
            assertThat(budget.reserved()).isZero();
            passed.incrementAndGet();
        };
        assertThat(run(budget, get, checking).getStatus()).isEqualTo(200);
        assertThat(passed).hasValue(1);
    }

    @Test
    void aBodyOfUnknownLengthIsRefusedWith411() throws Exception {
        MockHttpServletRequest request = post(-1);
        request.addHeader("Transfer-Encoding", "chunked");
        MockHttpServletResponse response = run(new BodyBudget(), request, counting);
        assertThat(passed).hasValue(0);
        assertThat(response.getStatus()).isEqualTo(411);
        assertThat(response.getContentAsString()).contains("must come with a Content-Length",
                "\"instance\":\"" + request.getRequestURI() + "\"");
    }

    @Test
    void aBodyOverTheLimitIsRefusedWith413BeforeItIsRead() throws Exception {
        BodyBudget budget = new BodyBudget();
        MockHttpServletResponse response = run(budget, post(BodyBudget.MAX_BODY_BYTES + 1), counting);
        assertThat(passed).hasValue(0);
        assertThat(response.getStatus()).isEqualTo(413);
        assertThat(response.getContentAsString()).contains("at most 1048576 bytes; this one has 1048577");
        assertThat(run(budget, post(BodyBudget.MAX_BODY_BYTES), counting).getStatus()).isEqualTo(200);
        assertThat(budget.reserved()).isZero();
    }

    @Test
    void bodiesHandledAtOnceShareTheBudgetAndGiveItBackWhenTheyEnd() throws Exception {
        BodyBudget budget = new BodyBudget(1_000);
        MockHttpServletResponse[] inner = new MockHttpServletResponse[2];
        MockHttpServletRequest refusedBody = post(401);
        FilterChain holding = (request, response) -> {
            assertThat(budget.reserved()).isEqualTo(600);
            inner[0] = run(budget, post(400), counting);
            inner[1] = run(budget, refusedBody, counting);
        };
        MockHttpServletResponse outer = run(budget, post(600), holding);

        assertThat(outer.getStatus()).isEqualTo(200);
        assertThat(inner[0].getStatus()).as("600 + 400 fit").isEqualTo(200);
        assertThat(inner[1].getStatus()).as("600 + 401 do not").isEqualTo(503);
        assertThat(inner[1].getHeader("Retry-After")).isEqualTo("1");
        assertThat(inner[1].getContentAsString()).contains("send it again in a moment");
        assertThat(refusedBody.getInputStream().read()).as("the refused body was read to its end first").isEqualTo(-1);
        assertThat(budget.reserved()).as("given back, the refused one too").isZero();
    }

    @Test
    void theBudgetIsGivenBackWhenTheRequestFails() {
        BodyBudget budget = new BodyBudget(1_000);
        FilterChain failing = (request, response) -> {
            throw new IllegalStateException("handler failed");
        };
        assertThatThrownBy(() -> run(budget, post(500), failing)).hasMessage("handler failed");
        assertThat(budget.reserved()).isZero();
    }

    private static MockHttpServletRequest post(long contentLength) {
        MockHttpServletRequest request = new MockHttpServletRequest("POST", "/fleet/scale");
        if (contentLength >= 0) {
            request.setContent(new byte[(int) contentLength]);
        }
        return request;
    }

    private static MockHttpServletResponse run(BodyBudget budget, MockHttpServletRequest request, FilterChain chain)
            throws IOException, ServletException {
        MockHttpServletResponse response = new MockHttpServletResponse();
        budget.doFilter(request, response, chain);
        return response;
    }
}
