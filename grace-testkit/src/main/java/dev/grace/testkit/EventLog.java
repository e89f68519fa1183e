package dev.grace.testkit;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/** What each side did or saw, in the order it happened, for asserting sequences. */
public final class EventLog {
    private final List<Entry> entries = new CopyOnWriteArrayList<>();
    private final long startNanos = System.nanoTime();

    public record Entry(String side, String what, long atNanos) {
        @Override
        public String toString() {
            return String.format("%7.2f ms %-6s %s", atNanos / 1e6, side, what);
        }
    }

    public synchronized void add(String side, String what) {
        entries.add(new Entry(side, what, System.nanoTime() - startNanos));
    }

    /** "side: what" of every entry, in order. */
    public List<String> steps() {
        return entries.stream().map(e -> e.side() + ": " + e.what()).collect(Collectors.toList());
    }

    @Override
    public String toString() {
        return entries.stream().map(Entry::toString).collect(Collectors.joining("\n"));
    }
}
