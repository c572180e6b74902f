package dev.shepherd.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RequestBodyTests {

    @Test
    void partsMergedWhileAnEarlierCopyIsOnItsWayToAWorkerLeaveThatCopyIntactAndReplayWhole() {
        RequestBody body = new RequestBody(1 << 20);
        StringBuilder sent = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            sent.append((char) ('a' + i % 26));
            body.add(new DefaultHttpContent(Unpooled.copiedBuffer(sent.substring(i), StandardCharsets.US_ASCII)), null);
        }
        EmbeddedChannel first = new EmbeddedChannel();
        body.writeTo(first);
        EmbeddedChannel second = new EmbeddedChannel();
        for (int i = 200; i < 2_000; i++) {
            sent.append((char) ('a' + i % 26));
            body.add(new DefaultHttpContent(Unpooled.copiedBuffer(sent.substring(i), StandardCharsets.US_ASCII)), second);
        }
        body.add(new DefaultLastHttpContent(), second);

        assertThat(drain(first)).as("the first attempt's copy, unchanged by later merges").isEqualTo(sent.substring(0, 200));
        EmbeddedChannel replay = new EmbeddedChannel();
        body.writeTo(replay);
        assertThat(drain(replay)).isEqualTo(sent.toString());
        assertThat(body.heldParts()).isLessThanOrEqualTo(RequestBody.MAX_HELD_PARTS + 1);
        body.release();
        second.releaseOutbound();
    }

    private static String drain(EmbeddedChannel channel) {
        channel.flush();
        StringBuilder bytes = new StringBuilder();
        Object written;
        while ((written = channel.readOutbound()) != null) {
            bytes.append(((HttpContent) written).content().toString(StandardCharsets.US_ASCII));
            ((HttpContent) written).release();
        }
        return bytes.toString();
    }

    @Test
    void aBodyOfManyOneByteChunksIsHeldInFewPartsAndReplayedWhole() {
        RequestBody body = new RequestBody(64 * 1024);
        StringBuilder sent = new StringBuilder();
        for (int i = 0; i < 1_000; i++) {
            char c = (char) ('a' + i % 26);
            sent.append(c);
            body.add(new DefaultHttpContent(Unpooled.copiedBuffer(String.valueOf(c), StandardCharsets.US_ASCII)), null);
            assertThat(body.heldParts()).isLessThanOrEqualTo(RequestBody.MAX_HELD_PARTS + 1);
        }
        body.add(new DefaultLastHttpContent(Unpooled.copiedBuffer("!", StandardCharsets.US_ASCII)), null);
        sent.append('!');

        EmbeddedChannel worker = new EmbeddedChannel();
        body.writeTo(worker);
        worker.flush();
        StringBuilder replayed = new StringBuilder();
        Object written;
        while ((written = worker.readOutbound()) != null) {
            ByteBuf bytes = ((HttpContent) written).content();
            replayed.append(bytes.toString(StandardCharsets.US_ASCII));
            ((HttpContent) written).release();
        }
        assertThat(replayed.toString()).isEqualTo(sent.toString());
        assertThat(body.replayable()).isTrue();
        body.release();
        worker.finishAndReleaseAll();
    }

    @Test
    void bodyWithinTheLimitIsSentAndStillReplayableOnAnotherWorker() {
        RequestBody body = new RequestBody(10);
        EmbeddedChannel first = new EmbeddedChannel();
        HttpContent hello = part("hello");
        HttpContent end = last("!");

        body.add(hello, first);
        body.add(end, first);

        assertThat(written(first)).containsExactly("hello", "!");
        assertThat(body.replayable()).isTrue();
        EmbeddedChannel second = new EmbeddedChannel();
        body.writeTo(second);
        assertThat(written(second)).containsExactly("hello", "!");
        body.release();
        assertThat(hello.refCnt()).isZero();
        assertThat(end.refCnt()).isZero();
    }

    @Test
    void bodyGrowingPastTheLimitWhileSendingCanNoLongerBeReplayed() {
        RequestBody body = new RequestBody(8);
        EmbeddedChannel upstream = new EmbeddedChannel();
        HttpContent first = part("12345");

        body.add(first, upstream);
        body.add(part("67890"), upstream);

        assertThat(written(upstream)).containsExactly("12345", "67890");
        assertThat(body.replayable()).isFalse();
        assertThat(first.refCnt()).as("the held copy is released").isZero();
    }

    @Test
    void largeBodyThatWasNeverSentIsStillReplayableUntilItIsWritten() {
        RequestBody body = new RequestBody(4);
        body.add(part("12345"), null);
        body.add(last("678"), null);

        assertThat(body.replayable()).as("nothing has left the proxy").isTrue();

        EmbeddedChannel upstream = new EmbeddedChannel();
        body.writeTo(upstream);

        assertThat(written(upstream)).containsExactly("12345", "678");
        assertThat(body.replayable()).isFalse();
    }

    private static HttpContent part(String text) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
    }

    private static HttpContent last(String text) {
        return new DefaultLastHttpContent(Unpooled.copiedBuffer(text, StandardCharsets.US_ASCII));
    }

    private static List<String> written(EmbeddedChannel channel) {
        channel.flushOutbound();
        List<String> parts = new ArrayList<>();
        HttpContent content;
        while ((content = channel.readOutbound()) != null) {
            parts.add(content.content().toString(StandardCharsets.US_ASCII));
            content.release();
        }
        return parts;
    }

    @TempDir
    java.nio.file.Path spoolDirectory;

    /**
     * Found by an attacking helper: one client trickling 150 bodies of 10 MB held 1.5 GB on disk for minutes. The
     * bytes kept in all are bounded; a body that would pass the bound is refused, and what a body kept is given back
     * when it goes.
     */
    @Test
    void theSpoolKeepsAtMostItsBoundInAllAndGivesBackWhatABodyHeldWhenItGoes() throws Exception {
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100_000);
        RequestBody first = new RequestBody(0);
        RequestBody second = new RequestBody(0);
        first.spool(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[60_000])), spool, null);
        second.spool(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[40_000])), spool, null);
        assertThat(spool.bytes()).isEqualTo(100_000);

        ByteBuf past = Unpooled.wrappedBuffer(new byte[1]);
        assertThat(second.spool(new DefaultHttpContent(past), spool, null)).as("no room").isFalse();
        assertThat(second.waitingParts()).isEqualTo(1);
        assertThat(spool.bytes()).isEqualTo(100_000);
        assertThat(second.spoolWaiting(spool)).as("still no room").isFalse();

        first.release();
        assertThat(spool.bytes()).isEqualTo(40_000);
        assertThat(second.spool(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[50_000])), spool, null))
                .as("behind a part that waits, a part waits, room or not").isFalse();
        assertThat(second.spoolWaiting(spool)).isTrue();
        assertThat(second.waitingParts()).isZero();
        assertThat(second.bytes()).isEqualTo(90_001);
        assertThat(spool.bytes()).isEqualTo(90_001);
        second.release();
        second.release();
        assertThat(spool.bytes()).as("given back once").isZero();
        assertThat(BodySpool.in(spoolDirectory.toString(), 0).bytes()).isZero();
    }

    /**
     * Bodies at the bound look every 10 ms, each through every body being read: a look that found none to refuse
     * holds for 10 ms, so that thousands waiting over thousands being read cost a scan per 10 ms, not one per look.
     */
    @Test
    void aLookThatFoundNoneToRefuseHoldsForTenMilliseconds() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        spool.holding(loop.eventLoop(), () -> { }, 0, null, false);
        now[0] = ReclaimableConnections.GRACE_NANOS - 1_000_000;
        assertThat(spool.makeRoom(null, null, 1)).isFalse();
        now[0] += 5_000_000;
        assertThat(spool.makeRoom(null, null, 1)).as("refusable now, but the last look holds").isFalse();
        now[0] += SpoolRoom.SCAN_GAP_NANOS;
        assertThat(spool.makeRoom(null, null, 1)).isTrue();
        loop.finishAndReleaseAll();
    }

    /** Parts that wait for room are released with the body, and never counted: a body refused gives back all. */
    @Test
    void partsWaitingForRoomAreLetGoWithTheBodyAndNeverCounted() throws Exception {
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 10);
        RequestBody body = new RequestBody(0);
        ByteBuf waits = Unpooled.wrappedBuffer(new byte[20]);
        ByteBuf after = Unpooled.wrappedBuffer(new byte[1]);
        assertThat(body.spool(new DefaultHttpContent(waits), spool, null)).isFalse();
        assertThat(body.spool(new DefaultHttpContent(after), spool, null)).isFalse();
        assertThat(body.waitingParts()).isEqualTo(2);
        assertThat(spool.bytes()).isZero();
        body.release();
        assertThat(waits.refCnt()).isZero();
        assertThat(after.refCnt()).isZero();
        assertThat(body.waitingParts()).isZero();
        assertThat(spool.bytes()).isZero();
    }

    /**
     * Found by an attacking helper: one client that filled the bound with bodies trickled just above the minimum rate
     * had every other upload refused. At the bound the body that came slowest lately is refused, on its loop, once
     * it has been read for a second; not one sent fast and then trickled, for its past; never the one asking, which is
     * refused itself when it is the slowest; and each at most once.
     */
    @Test
    void atTheBoundTheBodyThatCameSlowestLatelyIsRefusedOnceOnItsLoopAndNeverTheOneAsking() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> refused = new ArrayList<>();
        SpoolHolder frontLoaded = spool.holding(loop.eventLoop(), () -> refused.add("front-loaded"), 0, null, false);
        SpoolHolder steady = spool.holding(loop.eventLoop(), () -> refused.add("steady"), 0, null, false);
        now[0] = 500_000_000L;
        assertThat(spool.makeRoom(null, null, 1)).as("none read for a second yet").isFalse();
        assertThat(spool.refusableSoon(null)).as("but soon: worth waiting for").isTrue();
        assertThat(spool.refusableSoon(steady)).as("another than the one asking").isTrue();

        for (int second = 1; second <= 30; second++) {
            now[0] = second * 1_000_000_000L;
            frontLoaded.read(10_000_000L + second * 250L, now[0]); // 10 MB at once, then 250 bytes a second
            steady.read(second * 50_000L, now[0]);                 // 50 KB a second all along
        }
        assertThat(frontLoaded.rate(now[0])).as("its 10 MB are past").isLessThan(1_000);
        assertThat(spool.makeRoom(null, steady, 1)).isTrue();
        loop.runPendingTasks();
        assertThat(refused).containsExactly("front-loaded");

        assertThat(spool.makeRoom(null, steady, 1)).as("the one asking is the slowest left: it is refused itself").isFalse();
        assertThat(spool.refusableSoon(steady)).as("none left but itself, and past its second").isFalse();
        SpoolHolder fast = spool.holding(loop.eventLoop(), () -> refused.add("fast"), 0, null, false);
        now[0] += 2_000_000_000L;
        fast.read(10_000_000L, now[0]);
        assertThat(spool.makeRoom(null, fast, 1)).isTrue();
        loop.runPendingTasks();
        assertThat(refused).containsExactly("front-loaded", "steady");
        spool.done(fast);
        assertThat(spool.makeRoom(null, null, 1)).as("none left").isFalse();
        loop.finishAndReleaseAll();
    }

    /**
     * Found by a re-attacking helper: ten bodies of 20 KB at the bound at once each refused an upload of 500 KB of
     * its own, where one made room for all, and those that found none left to refuse got 503 at once. The bytes a
     * refused body still holds are room coming: bodies that need no more wait for it, and no other is refused until
     * it has come (the refused body gone) and more is needed.
     */
    @Test
    void roomComingFromARefusedBodyIsWaitedForNotMadeAgain() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> refused = new ArrayList<>();
        SpoolHolder first = spool.holding(loop.eventLoop(), () -> refused.add("first"), 0, null, false);
        SpoolHolder second = spool.holding(loop.eventLoop(), () -> refused.add("second"), 0, null, false);
        first.kept(500_000);
        second.kept(500_000);
        now[0] = 2_000_000_000L;
        first.read(500_000, now[0]);
        second.read(600_000, now[0]);

        assertThat(spool.makeRoom(null, null, 20_000)).isTrue();
        for (int newcomer = 0; newcomer < 9; newcomer++) {
            assertThat(spool.makeRoom(null, null, 20_000)).as("room is coming").isTrue();
        }
        loop.runPendingTasks();
        assertThat(refused).containsExactly("first");
        assertThat(spool.makeRoom(null, null, 600_000)).as("more than is coming: one more is refused").isTrue();
        loop.runPendingTasks();
        assertThat(refused).containsExactly("first", "second");
        assertThat(spool.makeRoom(null, null, 20_000)).as("none left to refuse, but room is coming").isTrue();

        spool.done(first);
        spool.done(second);
        assertThat(spool.makeRoom(null, null, 1)).as("it came, and none is left to refuse").isFalse();
        spool.done(first);
        assertThat(spool.makeRoom(null, null, 1)).as("counted back once").isFalse();
        loop.finishAndReleaseAll();
    }

    /**
     * Found by a re-attacking helper: whole bodies re-sent to a slow route, waiting in the queue, kept every other
     * client's upload out, as only bodies being read were refused for room. When none being read can be, the body that
     * has waited longest in the queue, of the client that holds the most, is refused for another client's; never for
     * the same client's, nor for a client that would hold more than it; and a body no longer queued when its loop
     * comes to it is spared, its bytes no longer room coming.
     */
    @Test
    void aQueuedBodyOfTheClientHoldingTheMostIsRefusedForAnotherClientsOnly() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> refused = new ArrayList<>();
        SpoolHolder older = spool.holding(loop.eventLoop(), () -> refused.add("older"), 0, "attacker", true);
        SpoolHolder newer = spool.holding(loop.eventLoop(), () -> refused.add("newer"), 0, "attacker", true);
        SpoolHolder atWorker = spool.holding(loop.eventLoop(), () -> refused.add("at a worker"), 0, "attacker", true);
        SpoolHolder small = spool.holding(loop.eventLoop(), () -> refused.add("small"), 0, "small", true);
        older.kept(30);
        newer.kept(30);
        atWorker.kept(30);
        small.kept(10);
        spool.queued(older, true);
        now[0] += 1_000;
        spool.queued(newer, true);
        spool.queued(small, true);

        assertThat(spool.makeRoom("attacker", null, 5)).as("not for the same client").isFalse();
        assertThat(spool.makeRoom("small", small, 5)).as("its share, 15, is below the attacker's 90").isTrue();
        loop.runPendingTasks();
        assertThat(refused).as("the longest queued of the client holding the most").containsExactly("older");
        spool.done(older);
        assertThat(spool.makeRoom("other", null, 61)).as("with small's 10, 100 shared fairly is 45 each: the attacker's "
                + "60 is past it").isTrue();
        loop.runPendingTasks();
        assertThat(refused).containsExactly("older", "newer");

        spool.queued(newer, false);
        spool.spared(newer);
        assertThat(spool.makeRoom("fourth", null, 20)).as("spared: no longer room coming, and no client with a body "
                + "queued holds more than 20").isFalse();
        assertThat(spool.makeRoom("fifth", null, 5)).as("small's 10 is more than 5").isTrue();
        loop.runPendingTasks();
        assertThat(refused).containsExactly("older", "newer", "small");
        loop.finishAndReleaseAll();
    }

    /**
     * A body written whole to its worker holds its file only to send it again should that worker fail: at the bound,
     * that copy goes first, before any body is refused, the largest of the client that holds the most, whatever
     * client asks; and it goes back to being a body in flight while it is written again.
     */
    @Test
    void atTheBoundACopyKeptForARetryIsGivenUpBeforeAnyBodyIsRefused() throws Exception {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> chosen = new ArrayList<>();
        SpoolHolder slow = spool.holding(loop.eventLoop(), () -> chosen.add("slow"), 0, "a", false);
        SpoolHolder queued = spool.holding(loop.eventLoop(), () -> chosen.add("queued"), 0, "b", true);
        SpoolHolder small = spool.holding(loop.eventLoop(), () -> chosen.add("small copy"), 0, "b", true);
        SpoolHolder large = spool.holding(loop.eventLoop(), () -> chosen.add("large copy"), 0, "b", true);
        SpoolHolder other = spool.holding(loop.eventLoop(), () -> chosen.add("other copy"), 0, "c", true);
        slow.kept(10);
        queued.kept(10);
        small.kept(10);
        large.kept(20);
        other.kept(30);
        spool.queued(queued, true);
        spool.sent(small, true);
        spool.sent(large, true);
        spool.sent(other, true);
        now[0] = 2_000_000_000L;

        assertThat(spool.makeRoom("b", null, 5)).isTrue();
        assertThat(spool.makeRoom("a", null, 25)).isTrue();
        loop.runPendingTasks();
        assertThat(chosen).as("b holds 40, c 30: b's largest copy; then b 20 (its 20 on their way out), so c's, even "
                + "for b").containsExactly("large copy", "other copy");
        spool.sent(small, false);
        spool.done(large);
        spool.done(other);
        assertThat(spool.makeRoom("c", null, 5)).isTrue();
        loop.runPendingTasks();
        assertThat(chosen).as("small's copy is being written again: the slowest body being read is refused")
                .containsExactly("large copy", "other copy", "slow");
        loop.finishAndReleaseAll();
    }

    /** A body that gives up its copy gives its bytes back and can no longer be sent again. */
    @Test
    void aBodyThatGaveUpItsCopyIsNoLongerReplayableAndHoldsNothing() throws Exception {
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 0);
        RequestBody body = new RequestBody(10);
        EmbeddedChannel loop = new EmbeddedChannel();
        body.spool(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[5_000])), spool, null);
        body.list(spool, loop.eventLoop(), () -> { });
        body.spool(new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[5_000])), spool, null);
        assertThat(body.holder().stage()).isEqualTo(SpoolHolder.Stage.WHOLE);
        EmbeddedChannel worker = new EmbeddedChannel();
        assertThat(body.writeTo(worker)).isTrue();
        assertThat(body.holder().stage()).isEqualTo(SpoolHolder.Stage.SENT);
        assertThat(body.replayable()).isTrue();
        assertThat(spool.bytes()).isEqualTo(10_000);
        body.dropCopy();
        assertThat(body.replayable()).isFalse();
        assertThat(body.spooled()).isFalse();
        assertThat(body.holder()).isNull();
        assertThat(spool.bytes()).isZero();
        worker.flush();
        worker.finishAndReleaseAll();
        loop.finishAndReleaseAll();
    }

    /**
     * Found by a re-attacking helper: the room made for another client's upload went to the next body of the client
     * whose bodies were refused for it (197 refused for 4 uploads), and the body refused was its oldest, 2 KB, where
     * it queued 280 KB ones. At the bound each client has a share, the bound divided among the clients that hold some:
     * while a body waits for room, a client past its share takes none and refuses nothing for it; and a client past its
     * share has its largest body queued refused first. One client alone has the whole bound.
     */
    @Test
    void atTheBoundAClientPastItsShareTakesNoRoomAndGivesItsLargestQueuedBodyFirst() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> refused = new ArrayList<>();
        assertThat(spool.reserve("hog", 90)).as("alone, the whole bound").isTrue();
        SpoolHolder small = spool.holding(loop.eventLoop(), () -> refused.add("small"), 0, "hog", true);
        SpoolHolder large = spool.holding(loop.eventLoop(), () -> refused.add("large"), 0, "hog", true);
        small.kept(10);
        large.kept(80);
        spool.queued(small, true);
        now[0] += 1_000;
        spool.queued(large, true);
        assertThat(spool.pastShare("hog", 10)).as("alone").isFalse();
        assertThat(spool.pastShare("victim", 20)).as("half of the bound is the victim's share").isFalse();

        spool.waiting("victim", true, 20);
        assertThat(spool.makeRoom("victim", null, 20)).isTrue();
        loop.runPendingTasks();
        assertThat(refused).as("the hog is past its share of 50: its largest queued body, not its oldest")
                .containsExactly("large");
        assertThat(spool.reserve("hog", 10)).as("past its share while a body waits, though there is room").isFalse();
        assertThat(spool.makeRoom("hog", null, 10)).as("and it refuses nothing for it").isFalse();
        spool.release("hog", 80);
        spool.done(large);
        assertThat(spool.reserve("victim", 20)).as("the room made is the victim's").isTrue();
        spool.waiting("victim", false, 20);
        assertThat(spool.reserve("hog", 10)).as("none waits: room is anyone's").isTrue();
        spool.release("hog", 20);
        spool.release("victim", 20);
        assertThat(spool.bytes()).isZero();
        assertThat(spool.pastShare("hog", 100)).as("none holds anything: the whole bound again").isFalse();
        loop.finishAndReleaseAll();
    }

    /**
     * Found by a re-attacking helper: a share of the bound divided by the count of clients let 20 addresses holding
     * 3 KB each keep every upload of 300 KB out. A share is max-min fair: what small holders leave goes to the others,
     * so they shrink nobody's share, and the client holding the most is past its share once another waits.
     */
    @Test
    void manyClientsHoldingALittleShrinkNobodysShare() {
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 1000);
        for (int address = 0; address < 20; address++) {
            assertThat(spool.reserve("tiny-" + address, 3)).isTrue();
        }
        assertThat(spool.reserve("hog", 900)).isTrue();
        assertThat(spool.pastShare("victim", 300)).as("300 + 20 × 3 + 300 of the hog's, within 1000").isFalse();
        assertThat(spool.pastShare("victim", 500)).as("500 + 60 + 500 passes 1000").isTrue();
        assertThat(spool.pastShare("hog", 10)).as("none waits: the hog alone asks").isFalse();
        spool.waiting("victim", true, 300);
        assertThat(spool.pastShare("hog", 10)).as("910 + 60 + the victim's 300").isTrue();
        assertThat(spool.reserve("hog", 10)).isFalse();
        assertThat(spool.reserve("tiny-0", 10)).as("13 is within its share").isTrue();
        spool.waiting("victim", false, 300);
        assertThat(spool.reserve("hog", 10)).isTrue();
    }

    /**
     * Found by a re-attacking helper: the largest holder past its fair share had its body being read refused, a fast
     * upload 50 ms from its end, where another client's stalled body was not. Bodies being read go by their rate,
     * whoever holds the most: the stalled one is refused.
     */
    @Test
    void aFastUploadOfTheLargestHolderIsNotRefusedBeforeAStalledBody() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 2_000, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> refused = new ArrayList<>();
        SpoolHolder fast = spool.holding(loop.eventLoop(), () -> refused.add("fast"), 0, "honest", false);
        SpoolHolder stalled = spool.holding(loop.eventLoop(), () -> refused.add("stalled"), 0, "stalling", false);
        fast.kept(1_600);
        stalled.kept(400);
        now[0] = 2_000_000_000L;
        fast.read(1_600, now[0]);
        stalled.read(0, now[0]);

        assertThat(spool.makeRoom("newcomer", null, 50)).isTrue();
        loop.runPendingTasks();
        assertThat(refused).containsExactly("stalled");
        loop.finishAndReleaseAll();
    }

    /**
     * A client with many bodies in the spool cannot make room for one more by refusing the slow body of a client that
     * holds less than its others: the re-attacking helper's newcomers, fast, would otherwise refuse any upload taking
     * more than a second. A client with nothing else in may, as before.
     */
    @Test
    void aClientHoldingMoreCannotRefuseASmallerClientsSlowBody() {
        long[] now = {0};
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 100, () -> now[0]);
        EmbeddedChannel loop = new EmbeddedChannel();
        List<String> refused = new ArrayList<>();
        SpoolHolder queued = spool.holding(loop.eventLoop(), () -> refused.add("queued"), 0, "many", true);
        SpoolHolder slow = spool.holding(loop.eventLoop(), () -> refused.add("slow"), 0, "one", false);
        SpoolHolder asking = spool.holding(loop.eventLoop(), () -> refused.add("asking"), 0, "many", false);
        queued.kept(60);
        slow.kept(20);
        asking.kept(10);
        now[0] = 2_000_000_000L;
        slow.read(20, now[0]);
        asking.read(1_000_000, now[0]);

        assertThat(spool.makeRoom("many", asking, 5)).as("its other 60 are more than the slow client's 20").isFalse();
        loop.runPendingTasks();
        assertThat(refused).isEmpty();
        assertThat(spool.makeRoom("new", null, 5)).isTrue();
        loop.runPendingTasks();
        assertThat(refused).as("slowest first, as before").containsExactly("slow");
        loop.finishAndReleaseAll();
    }

    /**
     * Past the limit, the parts go to an unlinked file after the parts held; the body is written whole, held parts
     * first, as often as it is asked for, and a chunk at a time only while the connection is writable.
     */
    @Test
    void aSpooledBodyIsReplayedWholeInOrderAChunkAtATimeWhileTheConnectionIsWritable() throws Exception {
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 0);
        RequestBody body = new RequestBody(1000);
        StringBuilder sent = new StringBuilder();
        String memory = "m".repeat(600);
        body.add(new DefaultHttpContent(Unpooled.copiedBuffer(memory, StandardCharsets.US_ASCII)), null);
        sent.append(memory);
        for (int i = 0; i < 40; i++) {
            String part = String.valueOf((char) ('a' + i % 26)).repeat(9_000);
            body.spool(new DefaultHttpContent(Unpooled.copiedBuffer(part, StandardCharsets.US_ASCII)), spool, null);
            sent.append(part);
        }
        body.spool(new DefaultLastHttpContent(Unpooled.copiedBuffer("end", StandardCharsets.US_ASCII)), spool, null);
        sent.append("end");
        assertThat(body.spooled()).isTrue();
        assertThat(body.bytes()).isEqualTo(sent.length());
        try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.list(spoolDirectory)) {
            assertThat(files).as("the spool file is unlinked as soon as it is open").isEmpty();
        }

        for (int attempt = 0; attempt < 2; attempt++) {
            EmbeddedChannel worker = new EmbeddedChannel();
            worker.config().setWriteBufferWaterMark(new io.netty.channel.WriteBufferWaterMark(8 * 1024, 32 * 1024));
            StringBuilder received = new StringBuilder();
            boolean written = body.writeTo(worker);
            int rounds = 1;
            while (!written) {
                assertThat(body.pumping(worker)).isTrue();
                assertThat(worker.isWritable()).as("a pump stops only at an unwritable connection").isFalse();
                received.append(drain(worker));
                written = body.pump(worker);
                rounds++;
            }
            worker.flush();
            Object last = null;
            Object next;
            while ((next = worker.readOutbound()) != null) {
                received.append(((HttpContent) next).content().toString(StandardCharsets.US_ASCII));
                last = next;
                ((HttpContent) next).release();
            }
            assertThat(received.toString()).as("attempt " + attempt).isEqualTo(sent.toString());
            assertThat(last).as("the body's end is written after its last byte")
                    .isInstanceOf(io.netty.handler.codec.http.LastHttpContent.class);
            assertThat(rounds).as("written in several rounds, never more than the water mark ahead").isGreaterThan(3);
            assertThat(body.pumping(worker)).isFalse();
            assertThat(body.replayable()).isTrue();
        }
        body.release();
        assertThat(body.spooled()).isFalse();
    }

    /** A body that comes a byte at a time costs one write to its file per {@link RequestBody#SPOOL_GATHER} bytes. */
    @Test
    void smallPartsAreGatheredBeforeTheyGoToTheFileAndLargeOnesGoStraight() throws Exception {
        BodySpool spool = BodySpool.in(spoolDirectory.toString(), 0);
        RequestBody body = new RequestBody(0);
        StringBuilder sent = new StringBuilder();
        int oneByteParts = 3 * RequestBody.SPOOL_GATHER + 100;
        for (int i = 0; i < oneByteParts; i++) {
            String part = String.valueOf((char) ('a' + i % 26));
            body.spool(new DefaultHttpContent(Unpooled.copiedBuffer(part, StandardCharsets.US_ASCII)), spool, null);
            sent.append(part);
        }
        assertThat(body.fileWrites()).as("one write per gathered buffer, not per byte").isEqualTo(3);
        String large = "L".repeat(RequestBody.SPOOL_GATHER * 2);
        body.spool(new DefaultHttpContent(Unpooled.copiedBuffer(large, StandardCharsets.US_ASCII)), spool, null);
        sent.append(large);
        assertThat(body.fileWrites()).as("the 100 gathered bytes, then the large part as it is").isEqualTo(5);
        body.spool(new DefaultLastHttpContent(Unpooled.copiedBuffer("end", StandardCharsets.US_ASCII)), spool, null);
        sent.append("end");
        assertThat(body.fileWrites()).as("what is gathered is written at the end").isEqualTo(6);

        EmbeddedChannel worker = new EmbeddedChannel();
        StringBuilder received = new StringBuilder();
        assertThat(body.writeTo(worker)).isTrue();
        worker.flush();
        Object next;
        while ((next = worker.readOutbound()) != null) {
            received.append(((HttpContent) next).content().toString(StandardCharsets.US_ASCII));
            ((HttpContent) next).release();
        }
        assertThat(received.toString()).isEqualTo(sent.toString());
        body.release();
    }

    @Test
    void aBodyReleasedWhileSmallPartsAreGatheredLetsTheirBufferGo() throws Exception {
        io.netty.buffer.UnpooledByteBufAllocator allocator = new io.netty.buffer.UnpooledByteBufAllocator(false);
        RequestBody body = new RequestBody(0);
        io.netty.buffer.ByteBuf part = allocator.heapBuffer(10).writeZero(10);
        body.spool(new DefaultHttpContent(part), BodySpool.in(spoolDirectory.toString(), 0), null);
        assertThat(part.refCnt()).as("the part itself is let go once gathered").isZero();
        assertThat(allocator.metric().usedHeapMemory()).as("the gathering buffer").isEqualTo(RequestBody.SPOOL_GATHER);
        assertThat(body.fileWrites()).isZero();

        body.release();

        assertThat(allocator.metric().usedHeapMemory()).isZero();
        assertThat(body.spooled()).isFalse();
    }

    @Test
    void aSpoolInADirectoryThatCannotTakeFilesIsRefusedNamingTheSetting() throws Exception {
        java.nio.file.Path missing = spoolDirectory.resolve("missing");
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> BodySpool.in(missing.toString(), 0)))
                .isInstanceOf(dev.shepherd.InvalidSetting.class)
                .hasMessageContaining("fleet.proxy.client-body-temp-path names " + missing + ", which does not exist");
        java.nio.file.Path file = java.nio.file.Files.createFile(spoolDirectory.resolve("file"));
        assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> BodySpool.in(file.toString(), 0)))
                .hasMessageContaining("which is not a directory");
        assertThat(BodySpool.in(" ", 0).directory()).as("blank: java.io.tmpdir")
                .isEqualTo(java.nio.file.Path.of(System.getProperty("java.io.tmpdir")).toAbsolutePath());
    }
}
