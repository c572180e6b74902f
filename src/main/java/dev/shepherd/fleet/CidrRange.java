package dev.shepherd.fleet;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;
import org.springframework.security.util.matcher.InetAddressMatchers;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.regex.Pattern;

/**
 * An IPv4 address in four dotted parts or an IPv6 address, each with an optional prefix length: {@code 10.0.0.0/8},
 * {@code 192.0.2.7}, {@code fc00::/7}. The address and the prefix are checked by Spring Security's
 * {@link InetAddressMatchers#fromIpAddress}, which never resolves a host name; the shape is checked first so that
 * neither a short IPv4 form ({@code 10/8}, which Java reads as 0.0.0.10) nor a negative prefix (which Spring Security
 * takes for "no prefix") passes.
 */
@Documented
@Target(ElementType.TYPE_USE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = CidrRange.Validator.class)
public @interface CidrRange {

    String message() default "must be an IP address or a CIDR range such as 10.0.0.0/8 or fc00::/7";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    /** Checks one entry; null is left to {@code @NotNull}. */
    final class Validator implements ConstraintValidator<CidrRange, String> {

        private static final Pattern SHAPE = Pattern.compile(
                "(\\d{1,3}(\\.\\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(/\\d{1,3})?");

        @Override
        public boolean isValid(String value, ConstraintValidatorContext context) {
            if (value == null) {
                return true;
            }
            if (!SHAPE.matcher(value).matches()) {
                return false;
            }
            try {
                InetAddressMatchers.fromIpAddress(value);
                return true;
            } catch (IllegalArgumentException ex) {
                return false;
            }
        }
    }
}
