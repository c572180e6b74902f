package dev.shepherd;

import org.springframework.boot.context.properties.ConfigurationPropertiesBinding;
import org.springframework.boot.convert.DataSizeUnit;
import org.springframework.core.convert.TypeDescriptor;
import org.springframework.core.convert.converter.GenericConverter;
import org.springframework.stereotype.Component;
import org.springframework.util.unit.DataSize;

import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes in settings as Spring Boot reads them ({@code 512B}, {@code 64KB}, {@code 300MB}; a bare number in the unit
 * of {@link DataSizeUnit}, else bytes), and also with the one-letter units of PM2's {@code max_memory_restart} and
 * nginx's sizes: {@code 300M}, {@code 300m}, {@code 1G}, {@code 100K}, {@code 2T} are {@code 300MB}, {@code 1GB},
 * {@code 100KB}, {@code 2TB} (binary multiples, as Spring's units are). {@code fleet.worker.max-memory: 300M} in YAML
 * stopped the start, where {@code shepherd start --max-memory-restart 300M} was taken (a new user's). Anything else
 * fails as Spring Boot's own conversion fails ({@link IllegalArgumentException}), which
 * {@link ConfigurationFailureAnalyzer} explains.
 */
@Component
@ConfigurationPropertiesBinding
class OneLetterSizes implements GenericConverter {

    private static final Pattern ONE_LETTER = Pattern.compile("\\s*([+\\-]?\\d+)([kKmMgGtT])\\s*");

    @Override
    public Set<ConvertiblePair> getConvertibleTypes() {
        return Set.of(new ConvertiblePair(String.class, DataSize.class));
    }

    @Override
    public Object convert(Object source, TypeDescriptor sourceType, TypeDescriptor targetType) {
        if (source == null || source.toString().isEmpty()) {
            return null;
        }
        DataSizeUnit unit = targetType.getAnnotation(DataSizeUnit.class);
        return DataSize.parse(spring(source.toString()), unit == null ? null : unit.value());
    }

    /** {@code size} in Spring Boot's units: {@code 300M} as {@code 300MB}; any other text as it is. */
    static String spring(String size) {
        Matcher oneLetter = ONE_LETTER.matcher(size);
        return oneLetter.matches() ? oneLetter.group(1) + oneLetter.group(2).toUpperCase(Locale.ROOT) + "B" : size;
    }
}
