package dev.shepherd.admin;

import org.springframework.http.converter.HttpMessageNotReadableException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.PropertyBindingException;

import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What was wrong with a request body, in the client's terms: the field and what it must be, or where the JSON
 * breaks. Jackson's own messages name Java types ({@code dev.shepherd.admin.FleetController$ScaleRequest},
 * {@code java.lang.Integer}) and Spring's name the handler method, so neither is ever shown.
 */
final class BodyErrors {

    /** jackson-core's message for a name given twice in one object (StreamReadFeature.STRICT_DUPLICATE_DETECTION). */
    private static final Pattern DUPLICATE = Pattern.compile("^Duplicate (?:Object property|field) [\"'](.*)[\"']$");

    private BodyErrors() {
    }

    static String describe(HttpMessageNotReadableException ex) {
        return describe((Throwable) ex);
    }

    /** As {@link #describe(HttpMessageNotReadableException)}, for Jackson's own failure or one that wraps it. */
    static String describe(Throwable ex) {
        JacksonException jackson = jacksonCause(ex);
        if (jackson == null) {
            return "the body is missing or unreadable";
        }
        List<JacksonException.Reference> path = jackson.getPath();
        String field = field(path);
        if (jackson instanceof PropertyBindingException unknown) {
            String within = field(path.subList(0, Math.max(0, path.size() - 1)));
            return "there is no field " + Problems.quote(String.valueOf(unknown.getPropertyName()))
                    + (within.isEmpty() ? "" : " in " + within);
        }
        if (jackson instanceof InputCoercionException) {
            return (field.isEmpty() ? "a number" : field) + " is out of range";
        }
        if (String.valueOf(jackson.getOriginalMessage()).startsWith("Trailing token")) {
            // {"workers":2}{"workers":3} was told the body "must be a JSON object" (a new user's).
            return "something follows the JSON value: send one";
        }
        if (jackson instanceof MismatchedInputException mismatch && mismatch.getTargetType() != null) {
            return (field.isEmpty() ? "the body" : field) + " must be " + kind(mismatch.getTargetType());
        }
        Matcher duplicate = DUPLICATE.matcher(String.valueOf(jackson.getOriginalMessage()));
        if (jackson instanceof StreamReadException && duplicate.find()) {
            return "the field " + Problems.quote(duplicate.group(1)) + " is given twice";
        }
        if (jackson instanceof StreamReadException && jackson.getLocation() != null) {
            return "it is not valid JSON at line " + jackson.getLocation().getLineNr() + ", column "
                    + jackson.getLocation().getColumnNr();
        }
        return field.isEmpty() ? "it does not fit this command" : field + " does not fit this command";
    }

    private static JacksonException jacksonCause(Throwable ex) {
        for (Throwable cause = ex; cause != null; cause = cause.getCause()) {
            if (cause instanceof JacksonException jackson) {
                return jackson;
            }
        }
        return null;
    }

    /** The field in the body, quoted, such as {@code 'workers'} or {@code 'items[2].name'}; empty for the whole body. */
    private static String field(List<JacksonException.Reference> references) {
        String path = references.stream()
                .map(reference -> reference.getPropertyName() != null ? "." + reference.getPropertyName()
                        : reference.getIndex() >= 0 ? "[" + reference.getIndex() + "]" : "")
                .collect(Collectors.joining());
        return path.isEmpty() ? "" : Problems.quote(path.startsWith(".") ? path.substring(1) : path);
    }

    private static String kind(Class<?> type) {
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class
                || type == Short.class || type == short.class) {
            return "a whole number";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
            return "a number";
        }
        if (CharSequence.class.isAssignableFrom(type) || type.isEnum()) {
            return "a string";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "a JSON array";
        }
        return "a JSON object";
    }
}
