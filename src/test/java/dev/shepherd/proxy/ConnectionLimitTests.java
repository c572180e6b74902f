package dev.shepherd.proxy;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ConnectionLimitTests {

    /** A limit of 2 lets in up to 16 more: accepts already under way when the listeners paused. */
    private final ConnectionLimit limit = new ConnectionLimit(2, System::nanoTime);
    private final EmbeddedChannel listener = new EmbeddedChannel();

    ConnectionLimitTests() {
        limit.listener(listener);
    }

    @Test
    void listenersPauseAtTheLimitAndResumeWhenAConnectionCloses() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();

        assertThat(limit.admit(first)).isTrue();
        assertThat(listener.config().isAutoRead()).isTrue();
        assertThat(limit.admit(second)).isTrue();
        assertThat(limit.paused()).isTrue();
        assertThat(listener.config().isAutoRead()).isFalse();

        first.close();
        assertThat(limit.open()).isEqualTo(1);
        assertThat(limit.paused()).isFalse();
        assertThat(listener.config().isAutoRead()).isTrue();
    }

    @Test
    void aConnectionAcceptedPastTheLimitIsRefusedAndItsCloseDoesNotResume() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();
        limit.admit(first);
        limit.admit(second);
        List<EmbeddedChannel> underWay = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            EmbeddedChannel channel = new EmbeddedChannel();
            underWay.add(channel);
            assertThat(limit.admit(channel)).as("accepted while pausing, within the slack").isTrue();
        }
        EmbeddedChannel late = new EmbeddedChannel();

        assertThat(limit.admit(late)).isFalse();
        assertThat(limit.refused()).isEqualTo(1);
        late.close();
        assertThat(limit.open()).isEqualTo(18);
        underWay.forEach(EmbeddedChannel::close);
        assertThat(limit.open()).isEqualTo(2);
        assertThat(listener.config().isAutoRead()).isFalse();

        second.close();
        assertThat(listener.config().isAutoRead()).isTrue();
        assertThat(limit.admit(new EmbeddedChannel())).isTrue();
        assertThat(listener.config().isAutoRead()).isFalse();
    }

    /**
     * At the limit, a new connection is let in by closing the oldest connection that is idle or reading a head on its
     * own event loop; paused listeners resume as soon as one such connection is listed.
     */
    @Test
    void atTheLimitTheOldestReclaimableConnectionOfTheLoopIsClosedForANewOne() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();
        EmbeddedChannel third = new EmbeddedChannel();
        limit.admit(first);
        limit.admit(second);
        assertThat(limit.paused()).as("nothing to reclaim").isTrue();

        ReclaimableConnections loop = limit.reclaimable(third.eventLoop());
        loop.addHead(new ReclaimableConnections.Entry(first::close, first::close, first.closeFuture()));
        assertThat(limit.paused()).as("one to reclaim").isFalse();
        assertThat(listener.config().isAutoRead()).isTrue();
        loop.addHead(new ReclaimableConnections.Entry(second::close, second::close, second.closeFuture()));

        assertThat(limit.admit(third)).isTrue();

        assertThat(first.isOpen()).isFalse();
        assertThat(second.isOpen()).isTrue();
        assertThat(limit.open()).isEqualTo(2);
        assertThat(limit.reclaimed()).isEqualTo(1);
        assertThat(limit.refused()).isZero();
        assertThat(limit.paused()).as("the second can still be reclaimed").isFalse();
    }

    /** A new connection on a loop that lists none has the loop that lists most close its oldest, on that loop. */
    @Test
    void aLoopWithNothingToReclaimHasAnotherLoopCloseItsOldest() {
        EmbeddedChannel first = new EmbeddedChannel();
        EmbeddedChannel second = new EmbeddedChannel();
        EmbeddedChannel third = new EmbeddedChannel();
        EmbeddedChannel other = new EmbeddedChannel();
        limit.admit(first);
        limit.admit(second);
        limit.reclaimable(other.eventLoop()).addHead(
                new ReclaimableConnections.Entry(second::close, second::close, second.closeFuture()));

        assertThat(limit.admit(third)).isTrue();
        assertThat(second.isOpen()).as("closed on its own loop, not the caller's").isTrue();
        other.runPendingTasks();

        assertThat(second.isOpen()).isFalse();
        assertThat(first.isOpen()).isTrue();
        assertThat(limit.open()).isEqualTo(2);
        assertThat(limit.reclaimed()).isEqualTo(1);
        EmbeddedChannel fourth = new EmbeddedChannel();
        assertThat(limit.admit(fourth)).as("within the slack").isTrue();
        assertThat(limit.paused()).as("nothing left to reclaim").isTrue();
        assertThat(first.isOpen()).isTrue();
    }

    /**
     * Unfinished heads go first across the loops: a loop that lists only an idle (kept-alive) client has the loop
     * that lists a head close it, rather than close its idle one (found by a reviewing helper).
     */
    @Test
    void aHeadOnAnotherLoopIsClosedBeforeAnIdleConnectionOfTheOwnLoop() {
        EmbeddedChannel keptAlive = new EmbeddedChannel();
        EmbeddedChannel slowloris = new EmbeddedChannel();
        limit.admit(keptAlive);
        limit.admit(slowloris);
        EmbeddedChannel third = new EmbeddedChannel();
        limit.reclaimable(third.eventLoop()).addIdle(
                new ReclaimableConnections.Entry(keptAlive::close, keptAlive::close, keptAlive.closeFuture()));
        limit.reclaimable(slowloris.eventLoop()).addHead(
                new ReclaimableConnections.Entry(slowloris::close, slowloris::close, slowloris.closeFuture()));

        assertThat(limit.admit(third)).isTrue();
        slowloris.runPendingTasks();

        assertThat(slowloris.isOpen()).isFalse();
        assertThat(keptAlive.isOpen()).as("the own loop's idle client is kept").isTrue();
        assertThat(limit.reclaimed()).isEqualTo(1);
    }

    /** At shutdown, another loop that takes no more tasks: the ask is undone, and nothing stays counted as closing. */
    @Test
    void anAskOfALoopThatIsShuttingDownIsUndone() {
        for (int i = 0; i < 2 + 16; i++) {
            assertThat(limit.admit(new EmbeddedChannel())).isTrue();
        }
        EmbeddedChannel other = new EmbeddedChannel();
        io.netty.channel.DefaultEventLoop stopped = new io.netty.channel.DefaultEventLoop();
        stopped.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        limit.reclaimable(stopped)
                .addIdle(new ReclaimableConnections.Entry(other::close, other::close, other.closeFuture()));
        EmbeddedChannel late = new EmbeddedChannel();

        assertThat(limit.admit(late)).as("past the slack, and no close to be had").isFalse();
        assertThat(ConnectionLimit.waiting(late)).isFalse();
        assertThat(limit.closing()).isZero();
    }

    /**
     * Another loop's connections that cannot be closed yet (new ones, spared a second) make no room: the listeners
     * pause, and past the slack a connection is refused whatever is listed. Admitted on such a promise, one client
     * held 2,637 connections at a limit of 200 with two loops (found by an attacking helper).
     */
    @Test
    void anotherLoopsNewConnectionsMakeNoRoomAndTheSlackHolds() {
        EmbeddedChannel other = new EmbeddedChannel();
        limit.admit(new EmbeddedChannel());
        limit.admit(new EmbeddedChannel());
        ReclaimableConnections elsewhere = limit.reclaimable(other.eventLoop());
        for (int i = 0; i < 40; i++) {
            elsewhere.addFresh(
                    new ReclaimableConnections.Entry(() -> { }, () -> { }, ImmediateEventExecutor.INSTANCE.newPromise()));
        }

        assertThat(limit.admit(new EmbeddedChannel())).as("within the slack").isTrue();
        assertThat(limit.paused()).isTrue();
        for (int i = 0; i < 15; i++) {
            limit.admit(new EmbeddedChannel());
        }
        assertThat(limit.admit(new EmbeddedChannel())).as("past the slack").isFalse();
        assertThat(limit.refused()).isEqualTo(1);
        assertThat(limit.reclaimed()).isZero();
        other.runPendingTasks();
        assertThat(limit.reclaimed()).as("nothing was asked of the other loop").isZero();
    }

    /**
     * A burst of accepts at the limit each close an unfinished head for room; on io_uring those closes complete later
     * than the accepts. Connections being closed make room already: counted against the slack, the burst was reset
     * past it (an attacking helper saw 1 in 19 of another client's requests reset). Up to a slack of closes under way
     * at once (they hold descriptors); past that, the slack is filled as when there is nothing to reclaim.
     */
    @Test
    void connectionsBeingClosedForRoomDoNotCountAgainstTheSlack() {
        ReclaimableConnections loop = limit.reclaimable(listener.eventLoop());
        List<EmbeddedChannel> admitted = new ArrayList<>();
        List<Promise<Void>> closes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            EmbeddedChannel channel = new OnLoop(listener.eventLoop());
            boolean in = limit.admit(channel);
            if (i < 2 + 16 + 16) {
                assertThat(in).as("connection %d: its place made by a close under way, or within the slack", i).isTrue();
            } else {
                assertThat(in).as("connection %d, past the slack and as many closes under way", i).isFalse();
                channel.close();
                continue;
            }
            admitted.add(channel);
            Promise<Void> close = ImmediateEventExecutor.INSTANCE.newPromise();
            closes.add(close);
            loop.addHead(new ReclaimableConnections.Entry(() -> { }, () -> { }, close));
        }
        assertThat(limit.reclaimed()).isEqualTo(16);
        assertThat(limit.refused()).isEqualTo(6);
        assertThat(limit.open()).isEqualTo(34);
        assertThat(limit.paused()).as("heads to reclaim, but a slack of closes under way: wait in the backlog")
                .isTrue();

        admitted.get(0).close();
        assertThat(listener.config().isAutoRead()).isFalse();
        closes.get(0).setSuccess(null);
        assertThat(listener.config().isAutoRead()).as("a close completed: reclaims go on").isTrue();
        for (int i = 1; i < 16; i++) {
            admitted.get(i).close();
            closes.get(i).setSuccess(null);
        }
        assertThat(limit.open()).isEqualTo(18);
        assertThat(limit.admit(new OnLoop(listener.eventLoop()))).as("past the slack, for a head of its loop").isTrue();
        assertThat(limit.reclaimed()).isEqualTo(17);
        assertThat(limit.open()).as("the one reclaimed has not closed yet").isEqualTo(19);
    }

    /**
     * Accepts under way when the listeners paused filled the slack; then a connection of the loop became idle and the
     * listeners resumed. The next accept takes the idle one's place: refused before a reclaim was tried, such bursts
     * were reset while slow requests held every place.
     */
    @Test
    void pastTheSlackANewConnectionStillTakesAReclaimablePlaceOfItsLoop() {
        List<EmbeddedChannel> held = new ArrayList<>();
        for (int i = 0; i < 2 + 16; i++) {
            EmbeddedChannel channel = new OnLoop(listener.eventLoop());
            assertThat(limit.admit(channel)).isTrue();
            held.add(channel);
        }
        assertThat(limit.paused()).isTrue();
        EmbeddedChannel idle = held.get(0);
        limit.reclaimable(listener.eventLoop())
                .addIdle(new ReclaimableConnections.Entry(idle::close, idle::close, idle.closeFuture()));
        assertThat(limit.paused()).as("one to reclaim").isFalse();

        assertThat(limit.admit(new OnLoop(listener.eventLoop()))).isTrue();

        assertThat(idle.isOpen()).isFalse();
        assertThat(limit.open()).isEqualTo(18);
        assertThat(limit.refused()).isZero();
        assertThat(limit.reclaimed()).isEqualTo(1);
        assertThat(limit.admit(new OnLoop(listener.eventLoop()))).as("nothing left to reclaim").isFalse();
        assertThat(limit.paused()).isTrue();
    }

    /**
     * A connection let in for another loop's close is not read until that loop has closed one: connections that went
     * idle for a moment between requests were promised again and again, and each promise the other loop could not
     * keep left a connection past the limit (600 slow requests from one host held 275 places at a limit of 200).
     */
    @Test
    void aConnectionLetInForAnotherLoopsCloseWaitsUnreadUntilItIsDone() {
        for (int i = 0; i < 2 + 16; i++) {
            assertThat(limit.admit(new EmbeddedChannel())).isTrue();
        }
        EmbeddedChannel other = new EmbeddedChannel();
        limit.reclaimable(other.eventLoop())
                .addIdle(new ReclaimableConnections.Entry(other::close, other::close, other.closeFuture()));
        EmbeddedChannel waiting = new EmbeddedChannel();

        assertThat(limit.admit(waiting)).as("past the slack, for a close on another loop").isTrue();
        assertThat(ConnectionLimit.waiting(waiting)).isTrue();
        assertThat(waiting.config().isAutoRead()).isFalse();
        assertThat(limit.paused()).as("the one close to make is asked for").isTrue();
        EmbeddedChannel next = new EmbeddedChannel();
        assertThat(limit.admit(next)).as("the other loop's one close is asked for already").isFalse();
        other.runPendingTasks();
        waiting.runPendingTasks();

        assertThat(other.isOpen()).isFalse();
        assertThat(ConnectionLimit.waiting(waiting)).isFalse();
        assertThat(waiting.config().isAutoRead()).isTrue();
        assertThat(limit.reclaimed()).isEqualTo(1);
        assertThat(limit.refused()).isEqualTo(1);
    }

    /** The other loop's connection was gone by the time it looked: the waiting one is closed, unread. */
    @Test
    void aConnectionWaitingForAnotherLoopsCloseIsClosedWhenThatLoopFindsNone() {
        for (int i = 0; i < 2 + 16; i++) {
            assertThat(limit.admit(new EmbeddedChannel())).isTrue();
        }
        EmbeddedChannel other = new EmbeddedChannel();
        ReclaimableConnections elsewhere = limit.reclaimable(other.eventLoop());
        ReclaimableConnections.Entry idle = new ReclaimableConnections.Entry(other::close, other::close,
                other.closeFuture());
        elsewhere.addIdle(idle);
        EmbeddedChannel waiting = new EmbeddedChannel();
        assertThat(limit.admit(waiting)).isTrue();
        assertThat(limit.open()).isEqualTo(19);

        elsewhere.remove(idle);
        other.runPendingTasks();

        assertThat(other.isOpen()).isTrue();
        assertThat(waiting.isOpen()).isFalse();
        assertThat(limit.open()).isEqualTo(18);
        assertThat(limit.refused()).isEqualTo(1);
        assertThat(limit.reclaimed()).isZero();
        assertThat(limit.paused()).isTrue();
    }

    /** A channel that says it is on {@code loop}, as a connection accepted by that loop's listening socket is. */
    private static final class OnLoop extends EmbeddedChannel {
        private final EventLoop loop;

        OnLoop(EventLoop loop) {
            this.loop = loop;
        }

        @Override
        public EventLoop eventLoop() {
            return loop != null ? loop : super.eventLoop();
        }
    }

    /** Netty's acceptor turns a listener back on a second after a failed accept, paused or not. */
    @Test
    void aListenerReopenedAtTheLimitIsPausedAgainByTheNextConnection() {
        limit.admit(new EmbeddedChannel());
        limit.admit(new EmbeddedChannel());
        listener.config().setAutoRead(true);

        limit.admit(new EmbeddedChannel());
        assertThat(listener.config().isAutoRead()).isFalse();
    }

    @Test
    void theLimitIsLoweredToWhatTheOpenFileLimitAndTheDirectMemoryHold() {
        long plenty = 64L << 30;
        int streaming = ConnectionLimit.DESCRIPTORS_STREAMING;
        assertThat(ConnectionLimit.fit(10_000, 20_000, plenty, streaming, 0)).isEqualTo((20_000 - 1024) / 2);
        assertThat(ConnectionLimit.fit(10_000, 1_048_576, plenty, streaming, 0)).isEqualTo(10_000);
        assertThat(ConnectionLimit.fit(10_000, 1024, plenty, streaming, 0)).isEqualTo((1024 - 256) / 2);
        assertThat(ConnectionLimit.fit(10_000, 3, plenty, streaming, 0)).isEqualTo(1);
        assertThat(ConnectionLimit.fit(10_000, -1, -1, streaming, 0)).isEqualTo(10_000);
        assertThat(ConnectionLimit.fit(10_000, 1_048_576, 256L << 20, streaming, 0))
                .as("the README's -XX:MaxDirectMemorySize=256m").isEqualTo(1024);
        assertThat(ConnectionLimit.fit(300, 1_048_576, 128L << 20, streaming, 0)).isEqualTo(300);
    }

    /** Each connection may hold {@code retry.buffer-limit} of a body in direct memory: a larger one fits fewer. */
    @Test
    void aLargerRetryBufferLimitLowersTheLimitToWhatTheDirectMemoryHolds() {
        int streaming = ConnectionLimit.DESCRIPTORS_STREAMING;
        assertThat(ConnectionLimit.directBytesPerConnection(0)).isEqualTo(256L << 10);
        assertThat(ConnectionLimit.directBytesPerConnection(64L << 10)).isEqualTo(256L << 10);
        assertThat(ConnectionLimit.directBytesPerConnection(1L << 20)).isEqualTo((192L << 10) + (1L << 20));
        assertThat(ConnectionLimit.fit(10_000, 1_048_576, 256L << 20, streaming, 0,
                ConnectionLimit.directBytesPerConnection(16L << 20))).as("16 MB of body each in 256 MB").isEqualTo(15);
    }

    @Test
    void readingBodiesFirstBudgetsATemporaryFileForEachConnection() {
        long plenty = 64L << 30;
        int readFirst = ConnectionLimit.descriptorsPerConnection(true, false);
        assertThat(readFirst).isEqualTo(3);
        assertThat(ConnectionLimit.descriptorsPerConnection(true, true)).as("and a response's file").isEqualTo(4);
        assertThat(ConnectionLimit.fit(10_000, 20_000, plenty, readFirst, 0)).isEqualTo((20_000 - 1024) / 3);
        assertThat(ConnectionLimit.fit(10_000, 2048, plenty, readFirst, 0)).as("the attack's ulimit -n 2048")
                .isEqualTo((2048 - 512) / 3);
        assertThat(ConnectionLimit.fit(10_000, 1_048_576, plenty, readFirst, 0)).isEqualTo(10_000);
    }

    @Test
    void theAdminPortsConnectionsAreCountedBeforeTheProxys() {
        long plenty = 64L << 30;
        int readFirst = ConnectionLimit.descriptorsPerConnection(true, false);
        assertThat(ConnectionLimit.fit(10_000, 1024, plenty, readFirst, 256)).as("ulimit -n 1024, the admin's 256")
                .isEqualTo((1024 - 256 - 256) / 3);
        assertThat(ConnectionLimit.fit(10_000, 20_000, plenty, readFirst, 256)).isEqualTo((20_000 - 1024 - 256) / 3);
        assertThat(ConnectionLimit.fit(10_000, 400, plenty, readFirst, 1_000)).as("more than the limit holds").isEqualTo(1);
        assertThat(ConnectionLimit.fit(100_000, 65_536, plenty, readFirst, -1)).as("unbounded: Spring Boot's default")
                .isEqualTo((65_536 - 1024 - 8192) / 3);
        assertThat(ConnectionLimit.fit(10_000, -1, plenty, readFirst, 256)).as("no limit known").isEqualTo(10_000);
    }
}
