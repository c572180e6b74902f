package dev.shepherd.worker;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * A real process that can be made a zombie on demand, for tests of what the JDK calls alive until the reaping:
 * {@code sh} starts a {@code sleep}, then becomes another {@code sleep} that never waits for it, so the first, once
 * killed ({@link #kill}), stays a zombie until {@link #close} ends its parent (and init reaps it). Needs /proc and
 * {@code sh}.
 */
public final class ZombieChild implements AutoCloseable {

    private final Process parent;
    private final ProcessHandle child;

    private ZombieChild(Process parent, ProcessHandle child) {
        this.parent = parent;
        this.child = child;
    }

    /** Starts the parent and waits (at most 5 s) for its child, which is then running. */
    public static ZombieChild start() throws IOException {
        Process parent = new ProcessBuilder("sh", "-c", "sleep 30 & exec sleep 30").start();
        try {
            ProcessHandle child = await().atMost(Duration.ofSeconds(5))
                    .until(() -> parent.toHandle().children().findFirst(), Optional::isPresent).orElseThrow();
            return new ZombieChild(parent, child);
        } catch (RuntimeException ex) {
            parent.destroyForcibly();
            throw ex;
        }
    }

    /** The child: running until {@link #kill}, a zombie after. */
    public ProcessHandle child() {
        return child;
    }

    /** The parent, which never reaps the child. */
    public ProcessHandle parent() {
        return parent.toHandle();
    }

    /** Kills the child and waits (at most 5 s) until /proc shows it exited and not reaped. */
    public ZombieChild kill() {
        child.destroyForcibly();
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcFs.exitedNotReaped(child.pid()));
        return this;
    }

    /** Ends the parent and waits for it; the child, orphaned, is reaped by init. */
    @Override
    public void close() throws InterruptedException {
        parent.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
}
