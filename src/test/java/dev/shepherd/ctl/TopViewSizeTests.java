package dev.shepherd.ctl;

import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.jline.utils.Display;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code top} in a terminal that reports no size draws 80 by 24, as {@code less} does, instead of failing. */
class TopViewSizeTests {

    @Test
    void aTerminalWithoutASizeIsDrawnAs80By24() throws IOException {
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        try (Terminal terminal = new DumbTerminal("test", "dumb", new ByteArrayInputStream(new byte[0]), screen,
                StandardCharsets.UTF_8)) {
            terminal.setSize(new Size(0, 0));
            Size size = TopView.usable(terminal.getSize());
            Display display = new Display(terminal, true);
            display.resize(size.getRows(), size.getColumns());

            display.update(TopView.styled(List.of("shepherd top", "ID  PID", "1   " + "x".repeat(200)), size), -1);
            terminal.flush();
        }

        assertThat(screen.toString(StandardCharsets.UTF_8)).contains("shepherd top", "1   " + "x".repeat(76))
                .doesNotContain("x".repeat(77));
    }

    @Test
    void aSizedTerminalKeepsItsSize() {
        assertThat(TopView.usable(new Size(120, 30))).isEqualTo(new Size(120, 30));
        assertThat(TopView.usable(new Size(0, 30))).isEqualTo(new Size(80, 30));
        assertThat(TopView.usable(new Size(100, 0))).isEqualTo(new Size(100, 24));
    }
}
