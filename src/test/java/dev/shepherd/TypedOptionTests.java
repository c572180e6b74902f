package dev.shepherd;

import dev.shepherd.TypedOption.Kind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/** The options looked for after PROGRAM, read as picocli reads start's before it. */
class TypedOptionTests {

    private static String name(String word) {
        return TypedOption.name(word, TypedOption.lookedFor());
    }

    @Test
    void anAttachedValueIsStartsOnlyWhenItIsAValueStartTakes() {
        assertThat(name("-i4")).isEqualTo("-i");
        assertThat(name("-imax")).isEqualTo("-i");
        assertThat(name("-i-1")).isEqualTo("-i");
        assertThat(name("-i=4")).isEqualTo("-i");
        assertThat(name("-p3000")).isEqualTo("-p");
        assertThat(name("-eNODE_ENV=production")).isEqualTo("-e");
        assertThat(name("--instances=4")).isEqualTo("--instances");
        assertThat(name("-init")).as("a script's own word").isNull();
        assertThat(name("-p{port}")).as("a worker's own port").isNull();
        assertThat(name("-eval")).isNull();
        assertThat(name("-napi")).as("PM2's alone: only apart or with =").isNull();
        assertThat(name("--instancesx")).isNull();
        assertThat(name("-x")).isNull();
        assertThat(name("-")).isNull();
        assertThat(name("app.js")).isNull();
    }

    @Test
    void aValueIsTheNextWordUnlessItIsAnOptionLookedForOrADoubleDash() {
        TypedOption.Scan scan = TypedOption.scan(List.of("-i", "-1", "-p", "-n", "api", "--cwd", "--", "-i"));
        assertThat(scan.options()).containsExactly(
                new TypedOption("-i", Kind.START, List.of("-i", "-1"), "-1"),
                new TypedOption("-p", Kind.NO_VALUE, List.of("-p"), null),
                new TypedOption("-n", Kind.PM2, List.of("-n", "api"), "api"),
                new TypedOption("--cwd", Kind.NO_VALUE, List.of("--cwd"), null));
        assertThat(scan.left()).containsExactly("--", "-i");
    }

    @Test
    void pm2sMeaningsOfEnvAndInterpreterAreTold() {
        TypedOption.Scan scan = TypedOption.scan(List.of("-e", "err.log", "--env=A=1", "--env", "production",
                "--interpreter=bun", "--interpreter", "--no-daemon", "x"));
        assertThat(scan.options()).extracting(TypedOption::name, TypedOption::kind).containsExactly(
                tuple("-e", Kind.PM2), tuple("--env", Kind.START), tuple("--env", Kind.PM2),
                tuple("--interpreter", Kind.INTERPRETER), tuple("--interpreter", Kind.PM2), tuple("--no-daemon", Kind.PM2));
        assertThat(scan.left()).as("--no-daemon takes no value").containsExactly("x");
    }

    @Test
    void aPortWithThePlaceholderIsTheWorkersOwn() {
        TypedOption.Scan scan = TypedOption.scan(List.of("--port", "{port}", "-p={port}", "-p", "3000"));
        assertThat(scan.left()).containsExactly("--port", "{port}", "-p={port}");
        assertThat(scan.options()).singleElement().satisfies(option -> assertThat(option.isPort()).isTrue());
    }
}
