package dev.grace.http;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** What a test client saw, in order, as short lines ("GOAWAY last=1 error=0", "FIN"), for assertions. */
final class FrameLog {
    private final BlockingQueue<String> pending = new LinkedBlockingQueue<>();
    private final List<String> all = new CopyOnWriteArrayList<>();

    void add(String event) {
        all.add(event);
        pending.add(event);
    }

    /** Skips events until one starts with {@code prefix}; fails after 10 s. */
    String await(String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            String event = pending.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (event == null) {
                throw new AssertionError("no '" + prefix + "' within 10 s; saw " + all);
            }
            if (event.startsWith(prefix)) {
                return event;
            }
        }
    }

    List<String> all() {
        return List.copyOf(all);
    }
}
