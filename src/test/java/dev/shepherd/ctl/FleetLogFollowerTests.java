package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The rounds of {@code logs -f} against a fake master ({@link FakeFleetLogs}): the workers there at the start give
 * their last {@code -n} lines, every worker that appears later gives its lines from the first, and one that came and
 * went between two rounds is found in the events. A new user's {@code logs -f} showed 19 of a new worker's 100 lines,
 * and none of a reload's new worker that crashed at once.
 */
class FleetLogFollowerTests {

    private static final int PAGE = 1000;

    /** What a round printed, as {@code logs -f} prints it without {@code --json}: "worker | line" or the marker. */
    private static List<String> shown(FleetLogFollower.Round round) {
        return round.printed().stream().map(printed -> printed.worker() + " | " + (LogFollower.isMarker(printed.element())
                ? "missed " + printed.element().path("missed").asLong() : printed.element().path("line").asString()))
                .toList();
    }

    private static List<String> lines(int worker, int from, int to) {
        return IntStream.rangeClosed(from, to).mapToObj(seq -> worker + " | line " + seq).toList();
    }

    @Test
    void theWorkersThereAtTheStartGiveTheirLastLines() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 30);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);

        assertThat(shown(follower.next())).isEqualTo(lines(1, 26, 30));
        master.write(1, 2);
        assertThat(shown(follower.next())).isEqualTo(lines(1, 31, 32));
    }

    /** It began a new worker at its last -n lines, with no marker: 19 of 100 startup lines shown. */
    @Test
    void aWorkerThatAppearsWhileFollowingIsShownFromItsFirstLine() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 30);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);
        follower.next();

        master.spawn(2, 100);

        assertThat(shown(follower.next())).isEqualTo(lines(2, 1, 100));
    }

    /** A worker seen in GET /fleet before its event: from its first line too, and once. */
    @Test
    void aWorkerListedBeforeItsEventIsShownFromItsFirstLineOnce() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);
        follower.next();
        master.write(2, 40).list(2);

        List<String> first = shown(follower.next());
        master.event("SPAWNED", 2).write(2, 1);

        assertThat(first).isEqualTo(lines(2, 1, 40));
        assertThat(shown(follower.next())).isEqualTo(lines(2, 41, 41));
    }

    /** A reload's new worker that crashed at once: never in GET /fleet, its error never shown. */
    @Test
    void aWorkerThatCameAndWentBetweenTwoRoundsIsShownFromItsEvent() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);
        follower.next();

        master.spawnUnlisted(2, 30).leave(2);
        FleetLogFollower.Round round = follower.next();
        follower.next();

        assertThat(shown(round)).isEqualTo(lines(2, 1, 30));
        assertThat(round.forgotten()).isEmpty();
        assertThat(master.asked).as("let go once it gave every line").filteredOn(path -> path.contains("/workers/2/"))
                .hasSize(1);
    }

    /** A worker that came and went with more lines than one ask gets: asked again at once, until it gave them all. */
    @Test
    void aWorkerThatCameAndWentIsAskedUntilItGaveEveryLine() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, 10, null);
        follower.next();
        master.spawnUnlisted(2, 25).leave(2);

        FleetLogFollower.Round first = follower.next();
        FleetLogFollower.Round second = follower.next();
        FleetLogFollower.Round third = follower.next();

        assertThat(first.full()).isTrue();
        assertThat(shown(first)).isEqualTo(lines(2, 1, 10));
        assertThat(shown(second)).isEqualTo(lines(2, 11, 20));
        assertThat(shown(third)).isEqualTo(lines(2, 21, 25));
        assertThat(third.full()).isFalse();
    }

    @Test
    void aNewWorkerWhoseFirstLinesWereDroppedBeginsWithTheMarkerOfHowMany() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);
        follower.next();

        master.spawn(2, 1500).drop(2, 1000);

        List<String> shown = shown(follower.next());
        assertThat(shown).first().isEqualTo("2 | missed 1000");
        assertThat(shown.subList(1, shown.size())).isEqualTo(lines(2, 1001, 1500));
    }

    /** Beyond fleet.worker.retired-logs: the master has no lines of it left, which the round says. */
    @Test
    void aWorkerThatCameAndWentAndWhoseLinesAreGoneIsNamed() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);
        follower.next();

        master.spawnUnlisted(2, 30).leave(2).forget(2);
        FleetLogFollower.Round round = follower.next();
        FleetLogFollower.Round after = follower.next();

        assertThat(round.forgotten()).containsExactly(2);
        assertThat(round.printed()).isEmpty();
        assertThat(after.forgotten()).isEmpty();
    }

    /** A master gone away is not a worker forgotten: the follow ends, as when GET /fleet cannot be read. */
    @Test
    void aMasterThatCannotBeReachedEndsTheFollowRatherThanForgetTheWorker() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(path -> {
            if (path.startsWith("/fleet/workers/2/")) {
                throw new CtlException("cannot reach the admin API", Ctl.UNREACHABLE);
            }
            return master.apply(path);
        }, null, 5, PAGE, null);
        follower.next();
        master.spawnUnlisted(2, 30).leave(2);

        assertThatThrownBy(follower::next).isInstanceOf(CtlException.class).hasMessageStartingWith("cannot reach");
    }

    /** After its start, only the events it has not seen are asked for; those before it are not new workers. */
    @Test
    void theEventsAreAskedForAfterTheLastOneSeen() {
        FakeFleetLogs master = new FakeFleetLogs().spawnUnlisted(7, 5).leave(7).spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);

        follower.next();
        master.spawn(2, 1);
        follower.next();
        follower.next();

        assertThat(master.asked).filteredOn(path -> path.startsWith("/fleet/events"))
                .containsExactly("/fleet/events", "/fleet/events?after=3", "/fleet/events?after=4");
        assertThat(master.asked).noneMatch(path -> path.contains("/workers/7/"));
    }

    /**
     * A master older than after= sends all its recent events each time: it is asked once, and the follow goes on
     * from GET /fleet alone, a new worker still from its first line.
     */
    @Test
    void aMasterThatIgnoresAfterIsNotAskedForEventsAgain() {
        FakeFleetLogs master = new FakeFleetLogs().ignoringAfter().spawn(1, 3);
        FleetLogFollower follower = new FleetLogFollower(master, null, 5, PAGE, null);
        follower.next();
        master.spawn(2, 30);

        assertThat(shown(follower.next())).isEqualTo(lines(2, 1, 30));
        follower.next();

        assertThat(master.asked).filteredOn(path -> path.startsWith("/fleet/events"))
                .containsExactly("/fleet/events", "/fleet/events?after=1");
    }

    @Test
    void oneWorkerIsFollowedWithoutTheEvents() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 30).spawn(2, 3);
        FleetLogFollower follower = new FleetLogFollower(master, 1, 5, PAGE, null);

        assertThat(shown(follower.next())).isEqualTo(lines(1, 26, 30));
        master.spawn(3, 4);
        assertThat(shown(follower.next())).isEmpty();

        assertThat(master.asked).noneMatch(path -> path.startsWith("/fleet/events") || path.equals("/fleet"));
    }
}
