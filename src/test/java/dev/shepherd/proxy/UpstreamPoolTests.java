package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

/** The idle pool's expiry with a clock the test moves, on channels with the real upstream pipeline. */
class UpstreamPoolTests {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    /** The deadlines the pool asked its sweeper to come by. */
    private final List<Long> sweepBy = new ArrayList<>();
    /** No reuse delay, the default. */
    private final UpstreamPool pool = new UpstreamPool(Duration.ofSeconds(4).toNanos(), now::get, sweepBy::add);
    /** {@code fleet.proxy.upstream-reuse-delay=50ms}. */
    private final UpstreamPool quiet = new UpstreamPool(Duration.ofSeconds(4).toNanos(), Duration.ofMillis(50).toNanos(),
            new UpstreamPool.IdleBudget(() -> Integer.MAX_VALUE), now::get, sweepBy::add);
    private final Endpoint worker = worker(true);

    @Test
    void idleConnectionIsReusedUntilTheIdleTimeoutAndNotAfter() {
        UpstreamHandler connection = connection();
        pool.release(worker, connection, -1);
        advance(Duration.ofMillis(3999));
        assertThat(pool.acquire(worker)).isSameAs(connection);

        pool.release(worker, connection, -1);
        advance(Duration.ofSeconds(4));
        assertThat(pool.acquire(worker)).isNull();
        assertThat(connection.channel().isOpen()).as("expired connection closed").isFalse();
    }

    @Test
    void workersKeepAliveHintRetiresTheConnectionAMarginBeforeIt() {
        assertThat(Duration.ofNanos(pool.keepNanos(5))).isEqualTo(Duration.ofSeconds(4));
        assertThat(Duration.ofNanos(pool.keepNanos(3))).isEqualTo(Duration.ofSeconds(2));
        assertThat(Duration.ofNanos(pool.keepNanos(1))).isEqualTo(Duration.ofMillis(500));
        assertThat(Duration.ofNanos(pool.keepNanos(60))).as("never later than the property").isEqualTo(Duration.ofSeconds(4));
        assertThat(pool.keepNanos(-1)).as("no hint").isEqualTo(Duration.ofSeconds(4).toNanos());

        UpstreamHandler connection = connection();
        pool.release(worker, connection, 1);
        advance(Duration.ofMillis(499));
        assertThat(pool.acquire(worker)).isSameAs(connection);
        pool.release(worker, connection, 1);
        advance(Duration.ofMillis(500));
        assertThat(pool.acquire(worker)).isNull();
    }

    @Test
    void workerThatKeepsNoIdleConnectionGetsNoneKept() {
        UpstreamHandler connection = connection();
        pool.release(worker, connection, 0);

        assertThat(connection.channel().isOpen()).isFalse();
        assertThat(pool.idleCount(worker)).isZero();

        UpstreamPool noReuse = new UpstreamPool(0, now::get, sweepBy::add);
        UpstreamHandler other = connection();
        noReuse.release(worker, other, 5);
        assertThat(other.channel().isOpen()).as("upstream-idle-timeout=0: not reused").isFalse();
    }

    @Test
    void sweepClosesTheExpiredIdleConnectionsAndKeepsTheOthers() {
        UpstreamHandler older = connection();
        UpstreamHandler newer = connection();
        pool.release(worker, older, -1);
        advance(Duration.ofSeconds(1));
        pool.release(worker, newer, -1);

        advance(Duration.ofMillis(2999));
        pool.sweep();
        assertThat(pool.idleCount(worker)).isEqualTo(2);
        advance(Duration.ofMillis(1));
        pool.sweep();

        assertThat(older.channel().isOpen()).isFalse();
        assertThat(newer.channel().isOpen()).isTrue();
        assertThat(pool.idleCount(worker)).isEqualTo(1);
        assertThat(pool.acquire(worker)).isSameAs(newer);
    }

    @Test
    void sweeperIsToldEveryIdleDeadlineAndAfterASweepTheEarliestLeft() {
        UpstreamHandler older = connection();
        UpstreamHandler newer = connection();
        long start = now.get();
        pool.release(worker, older, 1);
        advance(Duration.ofSeconds(1));
        pool.release(worker, newer, -1);
        assertThat(sweepBy).containsExactly(start + Duration.ofMillis(500).toNanos(),
                start + Duration.ofSeconds(5).toNanos());

        sweepBy.clear();
        pool.sweep();
        assertThat(older.channel().isOpen()).as("expired at 0.5 s").isFalse();
        assertThat(sweepBy).as("the deadline left").containsExactly(start + Duration.ofSeconds(5).toNanos());

        assertThat(pool.acquire(worker)).isSameAs(newer);
        sweepBy.clear();
        pool.sweep();
        assertThat(sweepBy).as("nothing left: no sweep needed").isEmpty();
    }

    @Test
    void newerConnectionWithAShorterHintExpiresBeforeAnOlderOne() {
        UpstreamHandler older = connection();
        UpstreamHandler newer = connection();
        long start = now.get();
        pool.release(worker, older, -1);
        advance(Duration.ofSeconds(1));
        pool.release(worker, newer, 2);

        advance(Duration.ofSeconds(1));
        sweepBy.clear();
        pool.sweep();

        assertThat(newer.channel().isOpen()).as("its 1 s keep ended at 2 s").isFalse();
        assertThat(older.channel().isOpen()).isTrue();
        assertThat(sweepBy).containsExactly(start + Duration.ofSeconds(4).toNanos());
        assertThat(pool.acquire(worker)).isSameAs(older);
    }

    @Test
    void withNoReuseDelayTheMostRecentlyReturnedConnectionIsTakenFirst() {
        UpstreamHandler first = connection();
        UpstreamHandler second = connection();
        pool.release(worker, first, -1);
        pool.release(worker, second, -1);

        assertThat(pool.acquire(worker)).isSameAs(second);
        assertThat(pool.acquire(worker)).isSameAs(first);
        assertThat(pool.acquire(worker)).isNull();
    }

    @Test
    void withAReuseDelayTheConnectionIdleLongestIsTakenFirst() {
        UpstreamHandler first = connection();
        UpstreamHandler second = connection();
        quiet.release(worker, first, -1);
        quiet.release(worker, second, -1);
        advance(Duration.ofMillis(50));

        assertThat(quiet.acquire(worker)).isSameAs(first);
        assertThat(quiet.acquire(worker)).isSameAs(second);
    }

    /** Long enough for a response nobody asked for to arrive while it is idle, which closes it. */
    @Test
    void anotherClientsRequestGoesOnAReturnedConnectionOnlyOnceItHasBeenIdle50Ms() {
        UpstreamHandler connection = connection();
        quiet.release(worker, connection, -1, new UpstreamPool.Owner());

        assertThat(quiet.acquire(worker, new UpstreamPool.Owner())).isNull();
        advance(Duration.ofMillis(49));
        assertThat(quiet.acquire(worker)).isNull();
        advance(Duration.ofMillis(1));
        assertThat(quiet.acquire(worker, new UpstreamPool.Owner())).isSameAs(connection);
    }

    /** Its own answers are all a late response could be taken for. */
    @Test
    void theClientConnectionThatReturnedAConnectionTakesItBackAtOnce() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamPool.Owner other = new UpstreamPool.Owner();
        UpstreamHandler mine = connection();
        UpstreamHandler theirs = connection();
        quiet.release(worker, mine, -1, client);
        quiet.release(worker, theirs, -1, other);

        assertThat(quiet.acquire(worker, client)).isSameAs(mine);
        assertThat(quiet.acquire(worker, client)).as("the other's is not quiet yet").isNull();
        assertThat(quiet.acquire(worker, other)).isSameAs(theirs);
    }

    /**
     * A worker that leaves Nagle on holds a late second response until the end of the answer before is ACKed, which a
     * keep-alive client's answer leaves to its next request: on another client's request it would come right behind
     * that request and be taken for its answer. Another client's request ACKs it and passes it over; a millisecond
     * later, when what the ACK released has arrived and closed it if anything came, it may take it. Its own client
     * takes it back at once.
     */
    @Test
    void anotherClientsRequestTakesAConnectionOnlyOnceTheEndOfItsLastAnswerIsAcked() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamPool.Owner other = new UpstreamPool.Owner();
        UpstreamHandler connection = unacked();
        pool.release(worker, connection, -1, client);

        assertThat(pool.acquire(worker, other)).isNull();
        assertThat(connection.answerAcked()).as("ACKed by the request that passed it over").isTrue();
        assertThat(pool.acquire(worker, client)).as("its own client's, at once").isSameAs(connection);
        pool.release(worker, connection, -1, client);
        advance(Duration.ofNanos(UpstreamPool.ACKED_FOR_NANOS - 1));
        assertThat(pool.acquire(worker, other)).isNull();
        advance(Duration.ofNanos(1));
        assertThat(pool.acquire(worker, other)).isSameAs(connection);

        UpstreamHandler idle = unacked();
        pool.release(worker, idle, -1, client);
        advance(Duration.ofNanos(UpstreamPool.DELAYED_ACK_MAX_NANOS));
        assertThat(pool.acquire(worker, other)).as("idle past the kernel's delayed ACK").isSameAs(idle);
        assertThat(idle.answerAcked()).as("no ACK of ours needed").isFalse();
    }

    /**
     * The most recently returned connection whose answer's end is ACKed, past the newer ones, at most 64 of them; of
     * those, the four newest are ACKed.
     */
    @Test
    void withNoReuseDelayARequestPassesOverAtMost64ConnectionsWhoseAnswerEndIsNotAcked() {
        UpstreamHandler acked = connection();
        pool.release(worker, acked, -1);
        List<UpstreamHandler> newer = new ArrayList<>();
        for (int i = 0; i < UpstreamPool.MAX_PASSED_OVER - 1; i++) {
            UpstreamHandler connection = unacked();
            newer.add(0, connection);
            pool.release(worker, connection, -1);
        }
        assertThat(pool.acquire(worker)).isSameAs(acked);
        assertThat(newer.subList(0, UpstreamPool.MAX_ACKS)).as("the newest, ACKed").allMatch(UpstreamHandler::answerAcked);
        assertThat(newer.subList(UpstreamPool.MAX_ACKS, newer.size())).noneMatch(UpstreamHandler::answerAcked);

        pool.release(worker, acked, -1);
        for (int i = 0; i < UpstreamPool.MAX_PASSED_OVER; i++) {
            pool.release(worker, unacked(), -1);
        }
        assertThat(pool.acquire(worker)).as("a new connection is opened instead").isNull();
        assertThat(pool.idleCount(worker)).isEqualTo(UpstreamPool.MAX_PASSED_OVER * 2);
    }

    /**
     * A client that closes after one answer without saying so (curl) left its end to be ACKed by a next request that
     * will not come: its close ACKs it, and another client may take the connection a millisecond later.
     */
    @Test
    void aClientConnectionThatClosesHasTheAnswersItLeftAcked() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamHandler connection = unacked();
        pool.release(worker, connection, -1, client);

        pool.closed(client);

        assertThat(connection.answerAcked()).isTrue();
        assertThat(connection.channel().isOpen()).as("a shared one stays").isTrue();
        advance(Duration.ofNanos(UpstreamPool.ACKED_FOR_NANOS));
        assertThat(pool.acquire(worker, new UpstreamPool.Owner())).isSameAs(connection);
    }

    @Test
    void withAReuseDelayAConnectionQuietLongEnoughIsStillAckedBeforeAnotherClientTakesIt() {
        UpstreamHandler older = unacked();
        UpstreamHandler newer = connection();
        quiet.release(worker, older, -1);
        advance(Duration.ofMillis(10));
        quiet.release(worker, newer, -1);
        advance(Duration.ofMillis(50));

        assertThat(quiet.acquire(worker)).as("the older passed over, ACKed").isSameAs(newer);
        assertThat(older.answerAcked()).isTrue();
        assertThat(quiet.acquire(worker)).isNull();
        advance(Duration.ofNanos(UpstreamPool.ACKED_FOR_NANOS));
        assertThat(quiet.acquire(worker)).isSameAs(older);
    }

    /**
     * A worker that once sent bytes nobody asked for: a connection it had may hold more, which would be taken for the
     * answer to the next request on it, whoever sends it (an attacking helper had a client get another's smuggled
     * request back after the worker was seen, on a connection the two had shared before). No connection of it is
     * reused any more: the idle ones are closed, a returned one too, even one its client connection would take back.
     */
    @Test
    void aWorkerOutOfStepHasNoConnectionReused() {
        Endpoint outOfStep = worker(true);
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamHandler idleBefore = connection();
        pool.release(outOfStep, idleBefore, -1, client);
        when(outOfStep.outOfStep()).thenReturn(true);

        assertThat(pool.acquire(outOfStep, client)).as("not even by the client connection that returned it").isNull();
        assertThat(idleBefore.channel().isOpen()).as("closed").isFalse();
        assertThat(pool.idleCount(outOfStep)).isZero();

        UpstreamHandler returned = connection();
        pool.release(outOfStep, returned, -1, client);
        assertThat(returned.channel().isOpen()).isFalse();
        assertThat(pool.acquire(outOfStep, client)).isNull();

        UpstreamHandler healthy = connection();
        pool.release(worker, healthy, -1, client);
        assertThat(pool.acquire(worker, new UpstreamPool.Owner())).as("another worker's as before").isSameAs(healthy);
    }

    /**
     * A connection that carried a request body may hold what a worker that did not read the body made of it (a
     * smuggled request, answered when it says): only the client connection that sent it reuses it, first a shared
     * one it returned, then its reserved ones, and nobody once it has closed.
     */
    @Test
    void aConnectionThatCarriedABodyIsReusedOnlyByTheClientConnectionThatSentIt() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamPool.Owner other = new UpstreamPool.Owner();
        UpstreamHandler posted = posted();
        pool.release(worker, posted, -1, client);

        assertThat(pool.acquire(worker, other)).as("another client connection").isNull();
        assertThat(pool.acquire(worker)).as("no client connection").isNull();
        assertThat(pool.acquire(worker, other, true)).isNull();
        advance(Duration.ofMillis(5));
        assertThat(pool.acquire(worker, other, true)).as("settled, still not another's").isNull();
        assertThat(pool.idleCount(worker)).isOne();

        UpstreamHandler shared = connection();
        pool.release(worker, shared, -1, client);
        assertThat(pool.acquire(worker, client)).as("its shared one first").isSameAs(shared);
        assertThat(pool.acquire(worker, client)).isSameAs(posted);
        pool.release(worker, posted, -1, client);
        assertThat(pool.acquire(worker, new UpstreamPool.Owner())).as("reserved for good").isNull();
        assertThat(pool.acquire(worker, client)).isSameAs(posted);
        pool.release(worker, posted, -1, null);
        assertThat(posted.channel().isOpen()).as("closed: no client connection to keep it for").isFalse();
    }

    @Test
    void theConnectionsReservedForAClientConnectionCloseWithIt() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        Endpoint another = worker(true);
        UpstreamHandler one = posted();
        UpstreamHandler two = posted();
        pool.release(worker, one, -1, client);
        pool.release(another, two, -1, client);

        pool.closed(client);

        assertThat(one.channel().isOpen()).isFalse();
        assertThat(two.channel().isOpen()).isFalse();
        assertThat(pool.idleCount(worker) + pool.idleCount(another)).isZero();
        UpstreamHandler late = posted();
        pool.release(worker, late, -1, client);
        assertThat(late.channel().isOpen()).as("returned by an exchange that outlived its client").isFalse();
    }

    /**
     * A keep-alive client posting one request after another: each POST waits for a connection that has settled
     * ({@link UpstreamPool#SETTLED_NANOS}), so the client keeps a few reserved, to each worker, and takes the one idle
     * longest; at most {@link UpstreamPool#MAX_RESERVED}, and the expired ones are swept.
     */
    @Test
    void aClientPostingOneRequestAfterAnotherReusesItsSettledConnectionsOldestFirst() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        Endpoint another = worker(true);
        UpstreamHandler first = posted();
        UpstreamHandler elsewhere = posted();
        UpstreamHandler second = posted();
        pool.release(worker, first, -1, client);
        pool.release(another, elsewhere, -1, client);
        advance(Duration.ofMillis(3));
        pool.release(worker, second, -1, client);

        assertThat(pool.acquire(worker, client, true)).as("nothing settled yet").isNull();
        advance(Duration.ofMillis(2));
        assertThat(pool.acquire(worker, client, true)).isSameAs(first);
        assertThat(pool.acquire(worker, client, true)).as("2 ms idle").isNull();
        assertThat(pool.acquire(worker, client, false)).as("a retriable request takes it at once").isSameAs(second);
        assertThat(pool.acquire(another, client, true)).isSameAs(elsewhere);

        List<UpstreamHandler> many = new ArrayList<>();
        for (int i = 0; i <= UpstreamPool.MAX_RESERVED; i++) {
            UpstreamHandler connection = posted();
            many.add(connection);
            pool.release(worker, connection, -1, client);
        }
        assertThat(pool.idleCount(worker)).isEqualTo(UpstreamPool.MAX_RESERVED);
        assertThat(many.get(UpstreamPool.MAX_RESERVED).channel().isOpen()).as("one past the most").isFalse();
        advance(Duration.ofSeconds(4));
        pool.sweep();
        assertThat(pool.idleCount(worker)).isZero();
        assertThat(many.get(0).channel().isOpen()).isFalse();
    }

    /**
     * Without a reuse delay too, a client connection holds a reserved connection for each worker it posted to: they
     * are kept within what {@code max-connections} leaves worker connections.
     */
    @Test
    void reservedConnectionsStayWithinWhatTheConnectionLimitLeavesThemWithoutADelay() {
        UpstreamPool.IdleBudget budget = new UpstreamPool.IdleBudget(() -> 2);
        UpstreamPool limited = new UpstreamPool(Duration.ofSeconds(4).toNanos(), 0, budget, now::get, sweepBy::add);
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamHandler[] posted = {posted(), posted(), posted()};
        for (UpstreamHandler connection : posted) {
            limited.release(worker, connection, -1, client);
        }
        UpstreamHandler shared = connection();
        limited.release(worker, shared, -1, client);

        assertThat(budget.idle()).isEqualTo(2);
        assertThat(posted[2].channel().isOpen()).isFalse();
        assertThat(shared.channel().isOpen()).as("shared ones are not counted without a delay").isTrue();
        assertThat(limited.acquire(worker, client)).isSameAs(shared);
        assertThat(limited.acquire(worker, client)).isSameAs(posted[1]);
        assertThat(budget.idle()).isOne();
    }

    /**
     * A worker may close a connection right after answering without saying so: a request that could not be sent
     * again (a POST) waits for a connection that has been idle long enough for such a close to have arrived.
     */
    @Test
    void aRequestThatCannotBeSentAgainGoesOnlyOnAConnectionThatHasSettled() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamHandler older = connection();
        UpstreamHandler mine = connection();
        pool.release(worker, older, -1);
        advance(Duration.ofMillis(3));
        pool.release(worker, mine, -1, client);

        assertThat(pool.acquire(worker, client, true)).as("nothing idle 5 ms yet").isNull();
        advance(Duration.ofMillis(2));
        assertThat(pool.acquire(worker, client, true)).as("idle longest, and settled").isSameAs(older);
        assertThat(pool.acquire(worker, client, true)).as("its own, 2 ms idle").isNull();
        assertThat(pool.acquire(worker, client, false)).as("a retriable request takes it at once").isSameAs(mine);

        pool.release(worker, mine, -1, client);
        advance(Duration.ofMillis(5));
        assertThat(pool.acquire(worker, client, true)).isSameAs(mine);
    }

    @Test
    void aConnectionThatClosesWhileSettlingIsNeverHandedOut() {
        UpstreamHandler connection = connection();
        pool.release(worker, connection, -1, new UpstreamPool.Owner());

        connection.channel().close();
        advance(Duration.ofMillis(5));

        assertThat(pool.acquire(worker, null, true)).isNull();
        assertThat(pool.idleCount(worker)).isZero();
    }

    @Test
    void withAShorterReuseDelayARequestThatCannotBeSentAgainStillWaitsForItToSettle() {
        UpstreamPool brief = new UpstreamPool(Duration.ofSeconds(4).toNanos(), Duration.ofMillis(1).toNanos(),
                new UpstreamPool.IdleBudget(() -> Integer.MAX_VALUE), now::get, sweepBy::add);
        UpstreamHandler connection = connection();
        brief.release(worker, connection, -1);
        advance(Duration.ofMillis(1));

        assertThat(brief.acquire(worker, null, true)).isNull();
        advance(Duration.ofMillis(4));
        assertThat(brief.acquire(worker, null, true)).isSameAs(connection);
    }

    @Test
    void aConnectionTakenAndReturnedByAnotherClientIsNoLongerTheFirstClientsOwn() {
        UpstreamPool.Owner client = new UpstreamPool.Owner();
        UpstreamPool.Owner other = new UpstreamPool.Owner();
        UpstreamHandler connection = connection();
        quiet.release(worker, connection, -1, client);
        advance(Duration.ofMillis(50));
        assertThat(quiet.acquire(worker, other)).isSameAs(connection);
        quiet.release(worker, connection, -1, other);

        assertThat(quiet.acquire(worker, client)).isNull();
        assertThat(quiet.acquire(worker, other)).isSameAs(connection);
    }

    @Test
    void aResponseNobodyAskedForDuringTheQuietTimeClosesTheConnection() {
        UpstreamHandler connection = connection();
        quiet.release(worker, connection, -1);

        ((EmbeddedChannel) connection.channel()).writeInbound(io.netty.buffer.Unpooled.copiedBuffer(
                "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL", java.nio.charset.StandardCharsets.US_ASCII));
        advance(Duration.ofMillis(50));

        assertThat(connection.channel().isOpen()).isFalse();
        assertThat(quiet.acquire(worker)).isNull();
    }

    @Test
    void aFullListHandsOutItsLongestIdleConnectionBeforeItIsQuiet() {
        List<UpstreamHandler> connections = new ArrayList<>();
        for (int i = 0; i < UpstreamPool.MAX_IDLE_PER_WORKER; i++) {
            UpstreamHandler connection = connection();
            connections.add(connection);
            quiet.release(worker, connection, -1);
        }

        assertThat(quiet.acquire(worker)).isSameAs(connections.get(0));
        assertThat(quiet.acquire(worker)).as("no longer full").isNull();
    }

    /**
     * Reserved connections kept within the budget when they were returned are past it once more client connections
     * open, and no other client can take them: a connection about to be opened past the budget closes the one idle
     * longest first, so that the worker connections stay within what max-connections budgets descriptors for.
     */
    @Test
    void aConnectionOpenedPastTheBudgetClosesTheReservedOneIdleLongest() {
        AtomicInteger left = new AtomicInteger(3);
        UpstreamPool.IdleBudget budget = new UpstreamPool.IdleBudget(left::get);
        UpstreamPool limited = new UpstreamPool(Duration.ofSeconds(4).toNanos(), 0, budget, now::get, sweepBy::add);
        UpstreamPool.Owner poster = new UpstreamPool.Owner();
        Endpoint another = worker(true);
        UpstreamHandler oldest = posted();
        UpstreamHandler next = posted();
        limited.release(another, oldest, -1, poster);
        advance(Duration.ofMillis(1));
        limited.release(worker, next, -1, poster);
        assertThat(limited.acquire(worker, new UpstreamPool.Owner())).as("within the budget: none closed").isNull();
        assertThat(oldest.channel().isOpen()).isTrue();

        left.set(1);
        assertThat(limited.acquire(worker, new UpstreamPool.Owner())).isNull();
        assertThat(oldest.channel().isOpen()).as("idle longest, another worker's").isFalse();
        assertThat(next.channel().isOpen()).isTrue();
        assertThat(budget.idle()).isOne();
    }

    /**
     * Sixteen client connections posting fast hold 64 reserved connections each to one worker: counted in the
     * shared list's limit, they filled it, and every other client's returned connection was closed (a new connection
     * per request).
     */
    @Test
    void reservedConnectionsLeaveTheSharedListItsRoom() {
        for (int client = 0; client < 16; client++) {
            UpstreamPool.Owner poster = new UpstreamPool.Owner();
            for (int i = 0; i < UpstreamPool.MAX_RESERVED; i++) {
                pool.release(worker, posted(), -1, poster);
            }
        }
        assertThat(pool.idleCount(worker)).isEqualTo(1024);

        UpstreamHandler shared = connection();
        pool.release(worker, shared, -1, new UpstreamPool.Owner());
        assertThat(shared.channel().isOpen()).as("kept").isTrue();
        assertThat(pool.acquire(worker, new UpstreamPool.Owner())).isSameAs(shared);
    }

    /**
     * max-connections budgets one worker connection per client connection: with a reuse delay, the idle ones of all
     * loops together stay within what the client connections open leave, by reusing sooner and keeping fewer.
     */
    @Test
    void withADelayIdleConnectionsStayWithinWhatTheConnectionLimitLeavesThem() {
        AtomicInteger left = new AtomicInteger(3);
        UpstreamPool.IdleBudget budget = new UpstreamPool.IdleBudget(left::get);
        UpstreamPool loopOne = new UpstreamPool(Duration.ofSeconds(4).toNanos(), Duration.ofMillis(50).toNanos(), budget,
                now::get, sweepBy::add);
        UpstreamPool loopTwo = new UpstreamPool(Duration.ofSeconds(4).toNanos(), Duration.ofMillis(50).toNanos(), budget,
                now::get, sweepBy::add);
        Endpoint other = worker(true);
        UpstreamHandler first = connection();
        UpstreamHandler second = connection();
        UpstreamHandler third = connection();
        UpstreamHandler fourth = connection();

        loopOne.release(worker, first, -1);
        loopTwo.release(worker, second, -1);
        assertThat(loopOne.acquire(worker)).as("budget left: not quiet yet, so none").isNull();
        loopTwo.release(other, third, -1);
        assertThat(budget.idle()).isEqualTo(3);
        loopOne.release(worker, fourth, -1);
        assertThat(fourth.channel().isOpen()).as("over the budget: closed, not kept").isFalse();

        assertThat(loopOne.acquire(worker)).as("budget spent: the longest idle, quiet or not").isSameAs(first);
        assertThat(budget.idle()).isEqualTo(2);
        left.set(1); // more client connections open
        third.channel().close();
        assertThat(budget.idle()).as("a closed idle connection leaves the count").isEqualTo(1);
        assertThat(loopTwo.acquire(worker)).isSameAs(second);
        assertThat(budget.idle()).isZero();
    }

    @Test
    void idleConnectionThatTheWorkerClosesOrWritesToLeavesThePoolAtOnce() {
        UpstreamHandler closed = connection();
        UpstreamHandler halfClosed = connection();
        UpstreamHandler written = connection();
        UpstreamHandler kept = connection();
        pool.release(worker, kept, -1);
        pool.release(worker, closed, -1);
        pool.release(worker, halfClosed, -1);
        pool.release(worker, written, -1);

        closed.channel().close();
        halfClosed.channel().pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        ((EmbeddedChannel) written.channel()).writeInbound(Unpooled.wrappedBuffer(new byte[] {'x'}));

        assertThat(pool.idleCount(worker)).isEqualTo(1);
        assertThat(halfClosed.channel().isOpen()).isFalse();
        assertThat(written.channel().isOpen()).isFalse();
        assertThat(pool.acquire(worker)).isSameAs(kept);
    }

    @Test
    void connectionToAWorkerThatStoppedTakingTrafficIsClosedNotKept() {
        Endpoint draining = worker(false);
        UpstreamHandler connection = connection();

        pool.release(draining, connection, -1);

        assertThat(connection.channel().isOpen()).isFalse();
        assertThat(pool.acquire(draining)).isNull();
    }

    @Test
    void droppingAWorkersConnectionsClosesThemAll() {
        UpstreamHandler a = connection();
        UpstreamHandler b = connection();
        pool.release(worker, a, -1);
        pool.release(worker, b, -1);

        pool.drop(worker);

        assertThat(a.channel().isOpen()).isFalse();
        assertThat(b.channel().isOpen()).isFalse();
        assertThat(pool.acquire(worker)).isNull();
    }

    private void advance(Duration duration) {
        now.addAndGet(duration.toNanos());
    }

    /** {@link #connection()} that has carried a request body. */
    private UpstreamHandler posted() {
        UpstreamHandler connection = connection();
        connection.carriedBody = true;
        return connection;
    }

    /**
     * {@link #unacked()} whose answer's end was ACKed at once {@link UpstreamPool#ACKED_FOR_NANOS} ago (as an HTTP/1.0
     * client's is): another client may take it as soon as it is returned.
     */
    private UpstreamHandler connection() {
        UpstreamHandler handler = unacked();
        handler.ackAnswerEnd(now.get() - UpstreamPool.ACKED_FOR_NANOS);
        return handler;
    }

    /**
     * A connection with the pipeline ProxyServer gives one, decoder then handler, whose last answer's end was left for
     * the next request to ACK (a keep-alive client's).
     */
    private static UpstreamHandler unacked() {
        EmbeddedChannel channel = new EmbeddedChannel();
        UpstreamDecoder decoder = new UpstreamDecoder();
        UpstreamHandler handler = new UpstreamHandler(decoder, channel);
        channel.pipeline().addLast(decoder, handler);
        return handler;
    }

    private static Endpoint worker(boolean accepting) {
        Endpoint endpoint = mock(Endpoint.class);
        when(endpoint.isAccepting()).thenReturn(accepting);
        return endpoint;
    }
}
