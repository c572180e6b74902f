package dev.shepherd;

import org.junit.jupiter.api.Test;
import org.springframework.mock.env.MockEnvironment;

import static org.assertj.core.api.Assertions.assertThat;

/** The admin API's URL for the command line, told once the master listens when start's --admin-port moved it. */
class AdminUrlNoteTests {

    @Test
    void anAdminPortThatStartMovedIsToldByThePortItListensOn() {
        MockEnvironment moved = new MockEnvironment().withProperty("local.server.port", "19703")
                .withProperty(StartCommand.TYPED_OPTION + "management.server.port", "--admin-port");

        assertThat(AdminUrlNote.note(moved)).isEqualTo("The admin API is on port 19703; the command line finds it with "
                + "SHEPHERD_ADMIN_URL=127.0.0.1:19703 (or --admin 127.0.0.1:19703)");
    }

    @Test
    void theDefaultPortOrOneNotGivenToStartIsNotTold() {
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "8081")
                .withProperty(StartCommand.TYPED_OPTION + "management.server.port", "--admin-port"))).isNull();
        assertThat(AdminUrlNote.note(new MockEnvironment().withProperty("local.server.port", "19703"))).isNull();
        assertThat(AdminUrlNote.note(new MockEnvironment()
                .withProperty(StartCommand.TYPED_OPTION + "management.server.port", "--admin-port")))
                .as("not listening").isNull();
    }
}
