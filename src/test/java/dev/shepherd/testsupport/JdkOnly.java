package dev.shepherd.testsupport;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a worker's main class that needs nothing but the JDK and the classes beside it: {@link RunningShepherd#javaCommand}
 * runs it with the class directory it was loaded from as its whole classpath. On the test JVM's classpath (~180 jars)
 * a worker spent twice the CPU starting, 0.34 against 0.16 s here, since the JDK's service lookups (such as
 * {@code HttpServer}'s provider) open every jar on it; the suite starts hundreds of workers. A marked class that
 * comes to need a library fails at once with {@code NoClassDefFoundError} in the worker's output.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface JdkOnly {
}
