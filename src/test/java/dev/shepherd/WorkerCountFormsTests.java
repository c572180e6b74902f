package dev.shepherd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code fleet.workers} in PM2's forms, as {@code -i} takes them (a new user's {@code fleet.workers: max} in YAML). */
class WorkerCountFormsTests {

    @Test
    void maxAndZeroAreOnePerProcessorAndMinusNIsThatLessN() {
        assertThat(WorkerCountForms.count("max", 8, 64)).isEqualTo(8);
        assertThat(WorkerCountForms.count(" MAX ", 8, 64)).isEqualTo(8);
        assertThat(WorkerCountForms.count("0", 8, 64)).isEqualTo(8);
        assertThat(WorkerCountForms.count("max", 8, 4)).as("at most max-workers, as unset").isEqualTo(4);
        assertThat(WorkerCountForms.count("-1", 8, 64)).isEqualTo(7);
        assertThat(WorkerCountForms.count("-9", 8, 64)).as("at least one").isEqualTo(1);
    }

    @Test
    void aNumberOrAMistakeIsLeftToTheBinder() {
        assertThat(WorkerCountForms.count(null, 8, 64)).isNull();
        assertThat(WorkerCountForms.count("3", 8, 64)).isNull();
        assertThat(WorkerCountForms.count("lots", 8, 64)).isNull();
        assertThat(WorkerCountForms.count("-", 8, 64)).isNull();
        assertThat(WorkerCountForms.count("-99999999999", 8, 64)).isNull();
    }
}
