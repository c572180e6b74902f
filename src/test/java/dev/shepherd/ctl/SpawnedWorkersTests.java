package dev.shepherd.ctl;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SpawnedWorkersTests {

    @Test
    void eachWorkerSpawnedSinceTheLastAskIsNamedOnceInTheOrderOfItsEvents() {
        FakeFleetLogs master = new FakeFleetLogs().spawn(1, 0);
        SpawnedWorkers spawned = new SpawnedWorkers(master);
        spawned.start();

        master.spawn(3, 0).event("READY", 3).spawn(2, 0).event("SPAWNED", 3).leave(1);

        assertThat(spawned.next()).containsExactly(3, 2);
        assertThat(spawned.next()).isEmpty();
    }

    /** A refusal of the event list (a proxy in front that knows only some paths): the follow goes on without it. */
    @Test
    void aMasterThatCannotListItsEventsIsNotAskedAgain() {
        List<String> asked = new ArrayList<>();
        SpawnedWorkers spawned = new SpawnedWorkers(path -> {
            asked.add(path);
            throw new CtlException("the admin API answered 404");
        });

        spawned.start();

        assertThat(spawned.next()).isEmpty();
        assertThat(asked).containsExactly("/fleet/events");
    }

    /** A master that cannot be reached ends the follow, as every other ask of it does. */
    @Test
    void aMasterThatCannotBeReachedIsAnError() {
        SpawnedWorkers spawned = new SpawnedWorkers(path -> {
            throw new CtlException("cannot reach the admin API", Ctl.UNREACHABLE);
        });

        assertThatThrownBy(spawned::start).isInstanceOf(CtlException.class).hasMessageStartingWith("cannot reach");
    }
}
