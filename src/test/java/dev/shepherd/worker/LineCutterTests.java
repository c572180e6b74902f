package dev.shepherd.worker;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LineCutterTests {

    private final List<String> lines = new ArrayList<>();

    @Test
    void splitsAtLfCrAndCrlfLikeReadLine() {
        LineCutter cutter = new LineCutter(64, lines::add);

        feed(cutter, "one\ntwo\r\nthree\rfour\n\nsix");
        cutter.finish();

        assertThat(lines).containsExactly("one", "two", "three", "four", "", "six");
    }

    @Test
    void crlfSplitAcrossTwoReadsIsOneLineEnd() {
        LineCutter cutter = new LineCutter(64, lines::add);

        feed(cutter, "one\r");
        feed(cutter, "\ntwo\n");

        assertThat(lines).containsExactly("one", "two");
    }

    @Test
    void lineOfExactlyTheLimitIsKeptWhole() {
        LineCutter cutter = new LineCutter(8, lines::add);

        feed(cutter, "12345678\n");

        assertThat(lines).containsExactly("12345678");
    }

    @Test
    void longerLineKeepsItsStartAndSaysHowLongItWas() {
        LineCutter cutter = new LineCutter(8, lines::add);

        feed(cutter, "123456789abc\nnext\n");

        assertThat(lines).containsExactly("12345678… [cut: 12 bytes line]", "next");
    }

    @Test
    void hugeLineWithoutAnEndIsCutAtTheEndOfTheOutputWithItsSizeInMebibytes() {
        LineCutter cutter = new LineCutter(16, lines::add);
        byte[] chunk = new byte[OutputPump.CHUNK];
        java.util.Arrays.fill(chunk, (byte) 'x');
        long total = 128L << 20;
        for (long fed = 0; fed < total; fed += chunk.length) {
            cutter.feed(chunk, 0, chunk.length);
        }
        assertThat(lines).as("nothing before the line ends").isEmpty();

        cutter.finish();

        assertThat(lines).containsExactly("x".repeat(16) + "… [cut: 128 MiB line]");
    }

    @Test
    void cutNeverSplitsAMultiByteCharacter() {
        // "aé€😀": 1 + 2 + 3 + 4 bytes; a cut inside any of them leaves the whole character out.
        byte[] text = "aé€😀 and more".getBytes(StandardCharsets.UTF_8);
        List<String> heads = new ArrayList<>();
        for (int limit = 4; limit <= 10; limit++) {
            List<String> out = new ArrayList<>();
            LineCutter cutter = new LineCutter(limit, out::add);
            cutter.feed(text, 0, text.length);
            cutter.finish();
            heads.add(out.get(0).substring(0, out.get(0).indexOf('…')));
        }
        assertThat(heads).containsExactly("aé", "aé", "aé€", "aé€", "aé€", "aé€", "aé€😀");
    }

    @Test
    void malformedBytesBecomeReplacementCharacters() {
        LineCutter cutter = new LineCutter(64, lines::add);

        cutter.feed(new byte[] {'o', 'k', (byte) 0xFF, '\n'}, 0, 4);

        assertThat(lines).containsExactly("ok\uFFFD");
    }

    @Test
    void finishWithNothingPendingGivesNoLine() {
        LineCutter cutter = new LineCutter(64, lines::add);

        feed(cutter, "done\n");
        cutter.finish();

        assertThat(lines).containsExactly("done");
    }

    @Test
    void limitBelowOneCharacterIsRefused() {
        assertThatThrownBy(() -> new LineCutter(3, lines::add)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sizesReadAsPeopleWriteThem() {
        assertThat(LineCutter.size(900)).isEqualTo("900 bytes");
        assertThat(LineCutter.size(8192)).isEqualTo("8 KiB");
        assertThat(LineCutter.size(1536 * 1024)).isEqualTo("1.5 MiB");
        assertThat(LineCutter.size(128L << 20)).isEqualTo("128 MiB");
        assertThat(LineCutter.size((128L << 20) + 5)).isEqualTo("128 MiB");
        assertThat(LineCutter.size(3L << 30)).isEqualTo("3 GiB");
        assertThat(LineCutter.size(Long.MAX_VALUE)).isEqualTo("8 EiB");
    }

    @Test
    void anUnendedLineFlushedIsALineAndWhatFollowsStartsTheNext() {
        LineCutter cutter = new LineCutter(64, lines::add);

        feed(cutter, "first\nLoading... ");
        assertThat(cutter.holdsPartial()).isTrue();
        cutter.flushPartial();
        assertThat(cutter.holdsPartial()).isFalse();
        cutter.flushPartial();
        feed(cutter, "done\n");
        cutter.finish();

        assertThat(lines).containsExactly("first", "Loading... ", "done");
    }

    /** The end of a line given unended ends it: no empty line of its own (an attacking helper counted 221 such). */
    @Test
    void theEndOfALineGivenUnendedIsNotAnEmptyLine() {
        LineCutter cutter = new LineCutter(64, lines::add);

        feed(cutter, "one");
        cutter.flushPartial();
        feed(cutter, "\n\ntwo");
        cutter.flushPartial();
        feed(cutter, "\r\nthree");
        cutter.flushPartial();
        feed(cutter, "!\n");

        assertThat(lines).as("a second end of line is an empty line, as before").containsExactly("one", "", "two",
                "three", "!");
        assertThat(cutter.linesGiven()).isEqualTo(5);
        assertThat(cutter.linesGiven()).isZero();
    }

    @Test
    void aFlushKeepsACharacterWhoseLastBytesHaveNotComeForTheNextLine() {
        LineCutter cutter = new LineCutter(64, lines::add);
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);

        feed(cutter, "price ");
        cutter.feed(euro, 0, 2);
        cutter.flushPartial();
        cutter.feed(euro, 2, 1);
        feed(cutter, "5\n");
        cutter.feed(euro, 0, 1);
        cutter.flushPartial();

        assertThat(lines).as("an incomplete character alone is held, not given").containsExactly("price ", "€5");
        assertThat(cutter.holdsPartial()).isTrue();
    }

    @Test
    void aFlushOfALineOverTheLimitGivesItCutAndCounted() {
        LineCutter cutter = new LineCutter(8, lines::add);

        feed(cutter, "x".repeat(20));
        cutter.flushPartial();
        feed(cutter, "y\n");

        assertThat(lines).containsExactly("xxxxxxxx… [cut: 20 bytes line]", "y");
    }

    private static void feed(LineCutter cutter, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        cutter.feed(bytes, 0, bytes.length);
    }
}
