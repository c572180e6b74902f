package dev.shepherd.fleet;

import dev.shepherd.worker.LogAllowance;
import dev.shepherd.worker.LogBuffer;
import dev.shepherd.worker.LogFiles;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * The output buffers of worker ids: one per worker in the fleet, and those of the {@code retiredToKeep} most
 * recently retired ids, so the last lines of a replaced worker can still be read for a while. Older retired ids
 * are forgotten: every recycle, reload, restart and scale creates a new id, and nothing here may grow with them.
 * What of their output may go to the master's log is counted per slot ({@link LogAllowance}, by worker index): a
 * replacement's new id gets no new burst. Indexes stay below {@code fleet.max-workers}, so those are bounded too.
 * Thread-safe (the supervisor opens and retires, the admin API reads).
 */
final class WorkerLogs {

    private final int maxLines;
    private final long maxBytes;
    private final int retiredToKeep;
    private final Map<Integer, LogBuffer> buffers = new HashMap<>();
    private final ArrayDeque<Integer> retired = new ArrayDeque<>();
    private final Map<Integer, LogAllowance> allowances = new HashMap<>();
    /** The files of each slot's output, by index; bounded as the allowances are. */
    private final Map<Integer, LogFiles> files = new HashMap<>();
    private final IntFunction<LogFiles> filesOfSlot;

    WorkerLogs(int maxLines, long maxBytes, int retiredToKeep) {
        this(maxLines, maxBytes, retiredToKeep, index -> LogFiles.NONE);
    }

    /** Buffers whose lines also go to the files {@code filesOfSlot} gives a slot's index, made once per slot. */
    WorkerLogs(int maxLines, long maxBytes, int retiredToKeep, IntFunction<LogFiles> filesOfSlot) {
        this.maxLines = maxLines;
        this.maxBytes = maxBytes;
        this.retiredToKeep = retiredToKeep;
        this.filesOfSlot = filesOfSlot;
    }

    /** The buffer of the worker {@code id}, which holds the slot {@code index}. */
    synchronized LogBuffer open(int id, int index) {
        return buffers.computeIfAbsent(id, key -> new LogBuffer(maxLines, maxBytes,
                allowances.computeIfAbsent(index, slot -> new LogAllowance()),
                files.computeIfAbsent(index, filesOfSlot::apply)));
    }

    /** The worker id left the fleet: its buffer is kept among the newest retired ones, the oldest is dropped. */
    synchronized void retire(int id) {
        if (!buffers.containsKey(id) || retired.contains(id)) {
            return;
        }
        retired.addLast(id);
        while (retired.size() > retiredToKeep) {
            buffers.remove(retired.removeFirst());
        }
    }

    /**
     * Asks every slot's files to reopen at their next line ({@link LogFiles#reopen()}, which never waits); returns
     * how many slots have files.
     */
    synchronized int reopenFiles() {
        int slots = 0;
        for (LogFiles slot : files.values()) {
            if (slot.any()) {
                slot.reopen();
                slots++;
            }
        }
        return slots;
    }

    synchronized Optional<LogBuffer> find(int id) {
        return Optional.ofNullable(buffers.get(id));
    }

    /** How many ids have a buffer now, live and retired. */
    synchronized int retained() {
        return buffers.size();
    }
}
