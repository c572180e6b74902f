package dev.shepherd.admin;

import dev.shepherd.testsupport.RunningShepherd;
import org.junit.jupiter.api.Test;
import org.springframework.web.filter.FormContentFilter;
import org.springframework.web.multipart.MultipartResolver;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No admin endpoint takes a form or a multipart body, so nothing parses one: Spring's {@link FormContentFilter} read
 * the whole body of a PUT, PATCH or DELETE form before any access check (one 64 MB body took the master's heap), and
 * its multipart support parsed parts into temporary files on any request, an open GET of health included. Both are
 * off in {@code shepherd/defaults.yml}; AdminFloodIntegrationTests sends the form body itself.
 */
class AdminReadsNoFormsIntegrationTests {

    @Test
    void neitherFormsNorMultipartBodiesAreParsed() {
        try (RunningShepherd shepherd = RunningShepherd.start("--fleet.workers=1", RunningShepherd.echoWorkerCommand())) {
            assertThat(shepherd.context().getBeanProvider(FormContentFilter.class).stream()).as("form filter").isEmpty();
            assertThat(shepherd.context().getBeanProvider(MultipartResolver.class).stream()).as("multipart").isEmpty();
        }
    }
}
