package dev.grace.server;

import dev.grace.Outcome;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * How a drain went: every connection open when the listener closed (or accepted from its
 * backlog afterwards), counted by outcome.
 *
 * @param outcomes          connections by how they ended; every outcome is present
 * @param discardedUnsent   bytes the application wrote that never reached the kernel
 * @param discardedInbound  bytes read and dropped by lingering close
 * @param duration          from the start of the drain (after the drain delay) to the last close
 * @param forced            a second stop request aborted what was left
 * @param requests          what the protocol's requests did from the drain's start to its end
 */
public record DrainReport(
        Map<Outcome, Integer> outcomes, long discardedUnsent, long discardedInbound, Duration duration, boolean forced,
        RequestCounts requests) {

    public DrainReport(Map<Outcome, Integer> outcomes, long discardedUnsent, long discardedInbound, Duration duration,
            boolean forced) {
        this(outcomes, discardedUnsent, discardedInbound, duration, forced, RequestCounts.NONE);
    }

    public DrainReport {
        EnumMap<Outcome, Integer> complete = new EnumMap<>(Outcome.class);
        for (Outcome outcome : Outcome.values()) {
            complete.put(outcome, outcomes.getOrDefault(outcome, 0));
        }
        outcomes = Collections.unmodifiableMap(complete);
        java.util.Objects.requireNonNull(requests, "requests");
    }

    public int count(Outcome outcome) {
        return outcomes.get(outcome);
    }

    public int connections() {
        return outcomes.values().stream().mapToInt(Integer::intValue).sum();
    }

    /**
     * Connections that ended cleanly ({@link Outcome#isClean()}): nothing either side was owed was
     * lost. With {@link #count} of the other outcomes it adds up to {@link #connections()}.
     */
    public int graceful() {
        int clean = 0;
        for (Outcome outcome : Outcome.values()) {
            if (outcome.isClean()) {
                clean += count(outcome);
            }
        }
        return clean;
    }

    public long bytesDiscarded() {
        return discardedUnsent + discardedInbound;
    }
}
