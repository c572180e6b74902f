package dev.shepherd.admin;

import dev.shepherd.fleet.FleetEvent;
import dev.shepherd.fleet.PublishedEvents;
import dev.shepherd.fleet.WorkerFleetService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter.DataWithMediaType;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

class FleetEventStreamTests {

    private static final Duration STEP = Duration.ofSeconds(5);

    private final PublishedEvents published = new PublishedEvents(1000);
    private final ArrayDeque<RecordingEmitter> next = new ArrayDeque<>();
    private final FleetEventStream streams;

    FleetEventStreamTests() {
        WorkerFleetService fleet = mock(WorkerFleetService.class);
        given(fleet.events()).willReturn(published.events());
        streams = new FleetEventStream(fleet, () -> next.isEmpty() ? new RecordingEmitter() : next.poll());
        streams.start();
    }

    @AfterEach
    void stop() {
        streams.stop();
    }

    @Test
    void aStreamSaysConnectedThenGetsEachNewEventWithItsSeqAsId() {
        published.publish(2);
        RecordingEmitter emitter = open(Long.MAX_VALUE);

        published.publish(3);

        await().atMost(STEP).until(() -> emitter.sent().size() == 4);
        assertThat(emitter.sent()).containsExactly(":connected", "id:3 fleet", "id:4 fleet", "id:5 fleet");
    }

    @Test
    void lastEventIdReplaysTheRecentEventsAfterItOnceThenTheLiveOnes() {
        published.publish(5);
        RecordingEmitter emitter = open(3);

        published.publish(1);

        await().atMost(STEP).until(() -> emitter.sent().size() == 4);
        assertThat(emitter.sent()).containsExactly(":connected", "id:4 fleet", "id:5 fleet", "id:6 fleet");
    }

    @Test
    void aClientThatDoesNotReadHoldsUpOnlyItsOwnStreamWhichEndsWhenItsQueueIsFull() throws InterruptedException {
        RecordingEmitter stuck = new RecordingEmitter();
        stuck.blockAfter(1);
        next.add(stuck);
        open(Long.MAX_VALUE);
        RecordingEmitter reader = open(Long.MAX_VALUE);
        published.publish(1);
        await().atMost(STEP).until(stuck::blocked);

        // The supervisor's side never waits: it publishes more than the stuck stream may queue, in bursts the reader
        // keeps up with.
        int bursts = FleetEventStream.QUEUE_LIMIT / 512 + 1;
        for (int burst = 1; burst <= bursts; burst++) {
            published.publish(512);
            int expected = 2 + burst * 512;
            await().atMost(STEP).until(() -> reader.sent().size() == expected);
        }
        assertThat(stuck.completed()).isFalse();
        assertThat(streams.openStreams()).isEqualTo(2);

        stuck.unblock();

        await().atMost(STEP).until(stuck::completed);
        assertThat(stuck.sent()).containsExactly(":connected", "id:1 fleet");
        assertThat(streams.openStreams()).isEqualTo(1);
        published.publish(1);
        await().atMost(STEP).until(() -> reader.sent().size() == 2 + bursts * 512 + 1);
        assertThat(stuck.sent()).hasSize(2);
    }

    @Test
    void noMoreThanMaxStreamsAreOpenAtOnceAndAClosedOneFreesItsPlace() {
        List<RecordingEmitter> open = new ArrayList<>();
        for (int i = 0; i < FleetEventStream.MAX_STREAMS; i++) {
            open.add(open(Long.MAX_VALUE));
        }

        assertThat(streams.open(Long.MAX_VALUE)).isEmpty();

        open.get(0).failNextSend();
        published.publish(1);
        await().atMost(STEP).until(() -> streams.openStreams() == FleetEventStream.MAX_STREAMS - 1);
        assertThat(streams.open(Long.MAX_VALUE)).isPresent();
        assertThat(streams.open(Long.MAX_VALUE)).isEmpty();
    }

    @Test
    void stoppingEndsEveryStreamEvenOneBlockedInAWrite() {
        RecordingEmitter stuck = new RecordingEmitter();
        stuck.blockAfter(0);
        next.add(stuck);
        open(Long.MAX_VALUE);
        RecordingEmitter idle = open(Long.MAX_VALUE);
        await().atMost(STEP).until(stuck::blocked);

        streams.stop();

        await().atMost(STEP).until(idle::completed);
        assertThat(stuck.completed()).isFalse();
        stuck.unblock();
        await().atMost(STEP).until(stuck::completed);
        assertThat(streams.openStreams()).isZero();
    }

    /** A stream opened once stopping would have no writer, and hold the admin port's graceful shutdown to its end. */
    @Test
    void onceStoppedNoStreamOpens() {
        streams.stop();

        assertThat(streams.open(Long.MAX_VALUE)).isEmpty();
        assertThat(streams.openStreams()).isZero();
    }

    private RecordingEmitter open(long lastSeen) {
        Optional<SseEmitter> emitter = streams.open(lastSeen);
        assertThat(emitter).isPresent();
        return (RecordingEmitter) emitter.get();
    }

    /** Records what would be written, one line a frame; can block a send as a client that does not read does. */
    private static final class RecordingEmitter extends SseEmitter {

        private final List<String> sent = Collections.synchronizedList(new ArrayList<>());
        private final CountDownLatch release = new CountDownLatch(1);
        private volatile int blockAfter = Integer.MAX_VALUE;
        private volatile boolean blocked;
        private volatile boolean failNext;
        private volatile boolean completed;

        RecordingEmitter() {
            super(0L);
        }

        @Override
        public void send(SseEventBuilder builder) throws IOException {
            if (failNext) {
                throw new IOException("Broken pipe");
            }
            if (sent.size() >= blockAfter) {
                blocked = true;
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
            StringBuilder frame = new StringBuilder();
            for (DataWithMediaType part : builder.build()) {
                frame.append(part.getData() instanceof FleetEvent event ? "" : part.getData());
            }
            String text = frame.toString().strip();
            sent.add(text.startsWith("id:") ? text.replaceAll("(?s)^id:(\\d+)\\nevent:(\\w+).*", "id:$1 $2") : text);
        }

        @Override
        public void complete() {
            completed = true;
        }

        List<String> sent() {
            return List.copyOf(sent);
        }

        void blockAfter(int frames) {
            blockAfter = frames;
        }

        boolean blocked() {
            return blocked;
        }

        void unblock() {
            release.countDown();
        }

        void failNextSend() {
            failNext = true;
        }

        boolean completed() {
            return completed;
        }
    }
}
