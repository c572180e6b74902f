package dev.shepherd.testsupport;

import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.awaitility.Awaitility.await;

/**
 * Fails a test class after which Netty reports a leaked buffer or other reference-counted object (one dropped
 * without its {@code release()}): the proxy's and its tests' leaks, as Netty's own suite and Reactor Netty's catch
 * theirs. Registered for every test class (JUnit's extension auto-detection, {@code junit-platform.properties}).
 * The test JVMs run with {@code -Dio.netty.leakDetection.level=advanced} (pom.xml), which tracks one buffer in 128
 * with where it was touched: every buffer (paranoid) doubled the time of the proxy's tests. Tests that set paranoid
 * for themselves ({@code BufferLeakIntegrationTests}) check every buffer of what they drive.
 * <p>
 * Netty finds a leak only once the garbage collector has cleared the object, when a later buffer is tracked: after
 * each class this runs a collection, tracks one more buffer and fails with what was reported since the last class.
 * A leak is reported against the class during or after which it was collected, with Netty's records of where the
 * object was last touched, which name the code. Its detectors are made by this class's factory, installed before
 * the first buffer (the extension is loaded before any test class runs).
 */
public final class BufferLeaks implements AfterAllCallback {

    private static final Queue<String> REPORTS = new ConcurrentLinkedQueue<>();

    static {
        ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new Recording());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.DISABLED) {
            assertNoneReported(context.getDisplayName());
        }
    }

    /**
     * Fails with the leaks Netty reported since the last call, {@code during} naming what ran; collects garbage
     * first, so that what was dropped by then is found. Call it once the buffers' owners are closed.
     */
    public static void assertNoneReported(String during) {
        // One collection a class: a full one of the test JVM's heap takes ~0.1 s, and leaks it leaves uncleared are
        // found by the next class's or the suite's own collections.
        // Netty learns of a cleared buffer once the JVM's reference handler has queued it: a sentinel cleared by the
        // same collection says when that has happened.
        ReferenceQueue<Object> cleared = new ReferenceQueue<>();
        WeakReference<Object> sentinel = new WeakReference<>(new Object(), cleared);
        System.gc();
        await().atMost(Duration.ofSeconds(10)).until(() -> cleared.poll() == sentinel);
        ByteBufAllocator.DEFAULT.buffer(1).release();
        List<String> reports = new ArrayList<>();
        for (String report; (report = REPORTS.poll()) != null; ) {
            reports.add(report);
        }
        if (!reports.isEmpty()) {
            throw new AssertionError(reports.size() + " leak(s) reported by Netty during or after " + during
                    + (reports.size() > 3 ? "; the first 3" : "") + ":\n"
                    + String.join("\n\n", reports.subList(0, Math.min(3, reports.size()))));
        }
    }

    private static final class Recording extends ResourceLeakDetectorFactory {

        @Override
        public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                                    long maxActive) {
            return new ResourceLeakDetector<>(resource, samplingInterval) {

                @Override
                protected boolean needReport() {
                    return true;
                }

                @Override
                protected void reportTracedLeak(String type, String records) {
                    REPORTS.add("LEAK of a " + type + ":" + records);
                    super.reportTracedLeak(type, records);
                }

                @Override
                protected void reportUntracedLeak(String type) {
                    REPORTS.add("LEAK of a " + type + " (no records: detection was not paranoid when it was made)");
                    super.reportUntracedLeak(type);
                }
            };
        }
    }
}
