package dev.shepherd;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EditDistanceTests {

    @Test
    void insertionsDeletionsSubstitutionsAndAdjacentSwapsCountOneEach() {
        assertThat(EditDistance.between("scale", "scale")).isZero();
        assertThat(EditDistance.between("", "ls")).isEqualTo(2);
        assertThat(EditDistance.between("lst", "ls")).isEqualTo(1);
        assertThat(EditDistance.between("rload", "reload")).isEqualTo(1);
        assertThat(EditDistance.between("stats", "status")).isEqualTo(1);
        assertThat(EditDistance.between("sacle", "scale")).as("a swap").isEqualTo(1);
        assertThat(EditDistance.between("--wiat", "--wait")).as("a swap").isEqualTo(1);
        assertThat(EditDistance.between("stauts", "status")).as("a swap").isEqualTo(1);
        assertThat(EditDistance.between("bogus", "logs")).isEqualTo(2);
        assertThat(EditDistance.between("ca", "abc")).as("no character edited twice").isEqualTo(3);
    }
}
