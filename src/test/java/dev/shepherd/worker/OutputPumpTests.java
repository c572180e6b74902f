package dev.shepherd.worker;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(OutputCaptureExtension.class)
class OutputPumpTests {

    /** Operators tail the master's log on terminals: a worker's escape sequence must not reach theirs. */
    @Test
    void aWorkersControlCharactersReachTheMastersLogInCaretNotationAndItsBufferAsWritten(CapturedOutput output)
            throws Exception {
        LogBuffer logs = new LogBuffer(10);
        String line = "red \u001b[31mtext\u001b]52;c;ZXZpbA==\u0007 \u009b2J";

        OutputPump.start(7, 4242, new ByteArrayInputStream((line + "\n").getBytes(StandardCharsets.UTF_8)), logs,
                Clock.systemUTC(), 8192).get(5, TimeUnit.SECONDS);

        assertThat(output.getOut()).contains("[worker 7 pid 4242] red ^[[31mtext^[]52;c;ZXZpbA==^G \\u009B2J")
                .doesNotContain("\u001b").doesNotContain("\u009b");
        assertThat(logs.tail(1)).singleElement().extracting(LogBuffer.Line::text).isEqualTo(line);
    }
}
