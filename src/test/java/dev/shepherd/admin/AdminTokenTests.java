package dev.shepherd.admin;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.core.Authentication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AdminTokenTests {

    private final AdminToken token = new AdminToken("s3cret");

    @ParameterizedTest
    @ValueSource(strings = {"Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR s3cret", "Bearer   s3cret"})
    void theBearerSchemeIsMatchedWhateverItsCase(String header) {
        Authentication caller = token.authenticate(token.convert(request(header)));

        assertThat(caller.isAuthenticated()).isTrue();
        assertThat(caller.getCredentials()).as("not kept once checked").isNull();
    }

    @Test
    void noAuthorizationHeaderLeavesTheCallerAnonymousForAuthorizationToDecide() {
        assertThat(token.convert(request(null))).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Bearer nope", "Bearer s3cre", "Bearer s3cret2", "Bearer S3CRET"})
    void anyOtherTokenIsRefusedAsWrong(String header) {
        assertThatThrownBy(() -> token.authenticate(token.convert(request(header))))
                .isInstanceOf(BadCredentialsException.class).hasMessage("wrong token")
                .isNotInstanceOf(AdminToken.MalformedAuthorizationException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Basic czNjcmV0", "s3cret", "Bearers3cret", "Token s3cret", "Bearer-s3cret"})
    void anotherSchemeIsRefusedAsMalformedNamingBearer(String header) {
        assertThatThrownBy(() -> token.convert(request(header)))
                .isInstanceOf(AdminToken.MalformedAuthorizationException.class).hasMessageContaining("Bearer scheme");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Bearer", "Bearer  ", "bearer "})
    void bearerWithoutATokenIsRefusedAsMalformed(String header) {
        assertThatThrownBy(() -> token.convert(request(header)))
                .isInstanceOf(AdminToken.MalformedAuthorizationException.class)
                .hasMessage("the Authorization header has no token after Bearer");
    }

    @Test
    void twoAuthorizationHeadersAreRefusedAsMalformedWhicheverComesFirst() {
        for (String[] pair : new String[][] {{"Bearer s3cret", "Bearer nope"}, {"Bearer nope", "Bearer s3cret"}}) {
            MockHttpServletRequest request = request(pair[0]);
            request.addHeader("Authorization", pair[1]);
            assertThatThrownBy(() -> token.convert(request)).isInstanceOf(AdminToken.MalformedAuthorizationException.class)
                    .hasMessage("the request has more than one Authorization header");
        }
    }

    @Test
    void aTokenSentAsUtf8BytesMatchesTheConfiguredToken() {
        AdminToken unicode = new AdminToken("clé");
        // Tomcat hands header bytes over as ISO-8859-1 characters.
        String header = "Bearer " + new String("clé".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                java.nio.charset.StandardCharsets.ISO_8859_1);

        assertThat(unicode.authenticate(unicode.convert(request(header))).isAuthenticated()).isTrue();
    }

    @Test
    void withoutATokenACallerOfTheMastersUserIsTheAuthenticatedLoopbackCallerWhateverItSends() {
        AdminToken none = new AdminToken(" ", null, System::nanoTime, FakeSocketTables.mastersUser());

        assertThat(none.required()).isFalse();
        assertThat(none.authenticate(none.convert(request(null)))).isSameAs(AdminToken.LOOPBACK);
        assertThat(none.authenticate(none.convert(request("Basic eA==")))).isSameAs(AdminToken.LOOPBACK);
        assertThat(AdminToken.LOOPBACK.isAuthenticated()).isTrue();
        assertThat(token.required()).isTrue();
    }

    /** Found by a helper acting as a new user: as user nobody, it ran a command as the master's user through a reload. */
    @Test
    void withoutATokenAnotherUsersCallerStaysAnonymousAndRootsIsAdmitted() {
        AdminToken other = new AdminToken(null, null, System::nanoTime, FakeSocketTables.mockMvcCallerOf(65534));
        AdminToken root = new AdminToken(null, null, System::nanoTime, FakeSocketTables.mockMvcCallerOf(0));

        assertThat(other.convert(request(null))).isNull();
        assertThat(other.convert(request("Bearer guess"))).isNull();
        assertThat(root.convert(request(null))).isSameAs(AdminToken.LOOPBACK);
    }

    private static MockHttpServletRequest request(String authorization) {
        MockHttpServletRequest request = new MockHttpServletRequest("GET", "/fleet");
        if (authorization != null) {
            request.addHeader("Authorization", authorization);
        }
        return request;
    }
}
