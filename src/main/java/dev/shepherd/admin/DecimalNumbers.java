package dev.shepherd.admin;

import org.springframework.util.NumberUtils;
import org.springframework.web.bind.WebDataBinder;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.InitBinder;

import java.beans.PropertyEditorSupport;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Every number the admin port reads from a path, a query parameter or a header ({@code /fleet/workers/{id}},
 * {@code lines}, {@code after}, {@code Last-Event-ID}) is decimal ASCII digits, with a leading {@code -} at most, as
 * the API writes its numbers; anything else is a 400 problem naming the parameter ({@link AdminErrors}). Spring's own
 * conversion took {@code 0x1f} and {@code #1f} as hexadecimal, dropped whitespace anywhere ({@code 1 0}, and a
 * {@code +} in a query, which is a space, were 10 and 5), and, through {@code Long.valueOf}, a {@code +} sign and the
 * digits of other scripts ({@code ١٠}): an id or a seq that reads one way in a log and another way to the master. A
 * minus is taken so that a number below a parameter's range is told as such ({@code lines must be at least 1}); an
 * empty value is no value, as in Spring.
 *
 * <p>A binder rule for every handler of the port, as an editor of each number type: an editor is asked before the
 * conversion service, and Spring falls back from a converter that refuses a value to its own editors, which take
 * {@code 0x1f} (a converter alone changed nothing). Actuator's endpoints on the port take no numbers.
 */
@ControllerAdvice
class DecimalNumbers {

    /** A whole number as the API writes one. */
    static final Pattern INTEGER = Pattern.compile("-?[0-9]+");
    /** A number with a fraction, for a parameter of a floating-point or decimal type. */
    private static final Pattern DECIMAL = Pattern.compile("-?[0-9]+(?:\\.[0-9]+)?");

    /** Each number type a handler may take, and the type it is parsed as (its wrapper). */
    private static final Map<Class<?>, Class<? extends Number>> TYPES = Map.ofEntries(
            Map.entry(byte.class, Byte.class), Map.entry(Byte.class, Byte.class),
            Map.entry(short.class, Short.class), Map.entry(Short.class, Short.class),
            Map.entry(int.class, Integer.class), Map.entry(Integer.class, Integer.class),
            Map.entry(long.class, Long.class), Map.entry(Long.class, Long.class),
            Map.entry(float.class, Float.class), Map.entry(Float.class, Float.class),
            Map.entry(double.class, Double.class), Map.entry(Double.class, Double.class),
            Map.entry(BigInteger.class, BigInteger.class), Map.entry(BigDecimal.class, BigDecimal.class));

    @InitBinder
    void decimalOnly(WebDataBinder binder) {
        TYPES.forEach((type, parsedAs) -> binder.registerCustomEditor(type, new Editor(parsedAs)));
    }

    /**
     * {@code text} as a {@code type}, in decimal digits only.
     *
     * @throws NumberFormatException when it is not such a number, or is out of the type's range
     */
    static <T extends Number> T parse(String text, Class<T> type) {
        boolean fraction = type == Double.class || type == Float.class || type == BigDecimal.class;
        if (!(fraction ? DECIMAL : INTEGER).matcher(text).matches()) {
            throw new NumberFormatException("not a decimal number: " + text);
        }
        return NumberUtils.parseNumber(text, type);
    }

    /** {@link #parse} as a {@code long}: for a number read by hand (a header). */
    static long parseLong(String text) {
        return parse(text, Long.class);
    }

    /** Parses one number type; a value it refuses is a type mismatch of the parameter. Not thread-safe: one a binder. */
    private static final class Editor extends PropertyEditorSupport {

        private final Class<? extends Number> type;

        Editor(Class<? extends Number> type) {
            this.type = type;
        }

        @Override
        public void setAsText(String text) {
            setValue(text == null || text.isEmpty() ? null : parse(text, type));
        }
    }
}
