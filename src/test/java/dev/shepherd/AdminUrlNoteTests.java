package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.springframework.mock.env.MockEnvironment;

import static org.assertj.core.api.Assertions.assertThat;

/** The admin API's URL for the command line, told once the master listens where the command line's default misses it. */
class AdminUrlNoteTests {

    @Test
    void anAdminPortThatStartMovedIsToldByThePortItListensOn() {
        MockEnvironment moved = new MockEnvironment().withProperty("local.server.port", "19703")
                .withProperty(StartCommand.TYPED_OPTION + "management.server.port", "--admin-port");

        assertThat(AdminUrlNote.note(moved)).isEqualTo("The admin API is on port 19703; the command line finds it with "
                + "SHEPHERD_ADMIN_URL=127.0.0.1:19703 (or --admin 127.0.0.1:19703)");
    }

    /** A new user's application.yml set management.server.port, and java -jar said nothing of where the API went. */
    @Test
    void aPortAddressOrTlsFromAnyConfigurationIsToldWithTheUrlThatReachesIt() {
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "19703")))
                .contains("SHEPHERD_ADMIN_URL=127.0.0.1:19703 ");
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "8081")
                .withProperty("server.address", "::1"))).contains("SHEPHERD_ADMIN_URL=[::1]:8081 ");
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "8081")
                .withProperty("server.address", "0.0.0.0").withProperty("server.ssl.bundle", "admin")))
                .contains("SHEPHERD_ADMIN_URL=https://127.0.0.1:8081 (or --admin https://127.0.0.1:8081)");
    }

    @Test
    void theDefaultUrlIsNotTold() {
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "8081")
                .withProperty(StartCommand.TYPED_OPTION + "management.server.port", "--admin-port"))).isNull();
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "8081")
                .withProperty("server.address", "0.0.0.0"))).as("reached on loopback").isNull();
        assertThat(AdminUrlNote.note(new MockEnvironment()
                .withProperty(StartCommand.TYPED_OPTION + "management.server.port", "--admin-port")))
                .as("not listening").isNull();
    }
}
