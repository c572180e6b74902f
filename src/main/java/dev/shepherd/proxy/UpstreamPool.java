package dev.shepherd.proxy;

import dev.shepherd.fleet.Endpoint;
import io.netty.channel.Channel;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Idle keep-alive connections to the workers, owned by one event loop: only that loop's thread touches it, so
 * taking and returning a connection needs no lock. Most recently used first.
 */
final class UpstreamPool {

    private static final int MAX_IDLE_PER_WORKER = 1024;

    private final Map<Endpoint, ArrayDeque<Channel>> idle = new IdentityHashMap<>();

    /** An open idle connection to {@code endpoint}, or null. */
    Channel acquire(Endpoint endpoint) {
        ArrayDeque<Channel> channels = idle.get(endpoint);
        if (channels == null) {
            return null;
        }
        Channel channel;
        while ((channel = channels.pollFirst()) != null) {
            if (channel.isActive()) {
                return channel;
            }
        }
        return null;
    }

    void release(Endpoint endpoint, Channel channel) {
        if (!endpoint.isAccepting()) {
            channel.close();
            return;
        }
        ArrayDeque<Channel> channels = idle.computeIfAbsent(endpoint, key -> new ArrayDeque<>());
        if (channels.size() >= MAX_IDLE_PER_WORKER) {
            channel.close();
        } else {
            channels.addFirst(channel);
        }
    }

    /** Closes the idle connections to one worker: one of them just failed, so its siblings are suspect too. */
    void drop(Endpoint endpoint) {
        ArrayDeque<Channel> channels = idle.remove(endpoint);
        if (channels != null) {
            channels.forEach(Channel::close);
        }
    }

    /** Closes the idle connections of every worker that is no longer in rotation. */
    void retainOnly(Set<Endpoint> ready) {
        Iterator<Map.Entry<Endpoint, ArrayDeque<Channel>>> entries = idle.entrySet().iterator();
        while (entries.hasNext()) {
            Map.Entry<Endpoint, ArrayDeque<Channel>> entry = entries.next();
            if (!ready.contains(entry.getKey())) {
                entry.getValue().forEach(Channel::close);
                entries.remove();
            }
        }
    }

    void closeAll() {
        idle.values().forEach(channels -> channels.forEach(Channel::close));
        idle.clear();
    }
}
