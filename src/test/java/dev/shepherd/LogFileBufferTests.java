package dev.shepherd;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.AppenderBase;
import dev.shepherd.proxy.AccessLog;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

class LogFileBufferTests {

    /** A file appender whose disk takes nothing until released, then keeps the messages. */
    private static final class StalledFile extends AppenderBase<ILoggingEvent> {

        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch released = new CountDownLatch(1);
        final List<String> written = new CopyOnWriteArrayList<>();

        @Override
        protected void append(ILoggingEvent event) {
            entered.countDown();
            try {
                released.await();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            written.add(event.getFormattedMessage());
        }
    }

    @Test
    void noThreadWaitsOnAStalledFileEveryLevelIsKeptUntilTheQueueIsFullAndTheRestIsCountedAndWarnedOf() throws Exception {
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter()); // as Logback's own start gives it one
        StalledFile file = new StalledFile();
        file.setContext(context);
        file.setName("FILE");
        file.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.addAppender(file);
        LogFileBuffer buffer = LogFileBuffer.install(context);
        assertThat(buffer).isNotNull();
        assertThat(root.getAppender("FILE")).as("behind the buffer now").isNull();
        assertThat(LogFileBuffer.install(context)).as("once").isSameAs(buffer);

        Logger logger = context.getLogger("test");
        logger.info("first");
        assertThat(file.entered.await(10, TimeUnit.SECONDS)).isTrue();
        int lines = LogFileBuffer.QUEUE_SIZE + 100;
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (int i = 0; i < lines; i++) {
                logger.info("line {}", i);
            }
        }, "a thread waited for the stalled file");
        assertThat(buffer.dropped()).as("INFO kept until the queue is full (Logback drops it at 80 % by default)")
                .isEqualTo(100);

        // The access log's lines have a thread and queue of their own: written straight, not queued or dropped here.
        Thread accessLog = new Thread(() -> context.getLogger(AccessLog.LOGGER).info("access line"), "access-log");
        accessLog.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> accessLog.getState() == Thread.State.BLOCKED);
        assertThat(buffer.dropped()).isEqualTo(100);

        file.released.countDown();
        accessLog.join(10_000);
        await().atMost(Duration.ofSeconds(10)).until(() -> file.written.size() == 2 + LogFileBuffer.QUEUE_SIZE);
        assertThat(file.written).contains("access line");
        assertThat(file.written).contains("line " + (LogFileBuffer.QUEUE_SIZE - 1)).doesNotContain("line "
                + LogFileBuffer.QUEUE_SIZE);
        // The warning comes once half the queue is free, though nothing more is logged (it used to wait for a line).
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
            assertThat(file.written).anyMatch(line -> line.matches("Dropped 100 lines to the log file in the last "
                    + "\\d+ s: it took no output while 4096 lines were waiting.*")));
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(5)).until(() -> file.written.stream()
                .filter(line -> line.startsWith("Dropped ")).count() == 1);
        context.stop();
    }

    @Test
    void withoutAFileAppenderNothingIsInstalled() {
        assertThat(LogFileBuffer.install(new LoggerContext())).isNull();
    }
}
