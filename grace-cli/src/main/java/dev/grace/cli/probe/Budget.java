package dev.grace.cli.probe;

import dev.grace.cli.probe.Exchange.End;
import dev.grace.cli.probe.Exchange.Seen;

/**
 * The time the checks share, and how long each wait must be so a slow server is given what it
 * took in the baseline. Read from the probe's thread and the concurrent check's threads.
 */
final class Budget {
    /** Over the baseline's own time: a server is rarely exactly as fast twice. */
    static final long LATENCY_MARGIN_MILLIS = 1_000;
    private static final long FLOOR_MILLIS = 100;

    private final long deadlineNanos;
    private volatile Seen baseline;

    Budget(long millis) {
        this.deadlineNanos = System.nanoTime() + millis * 1_000_000;
    }

    void baselineSeen(Seen seen) {
        this.baseline = seen;
    }

    long leftMillis() {
        return Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }

    /** {@code millis}, or less if the budget is running out (never below 100 ms). */
    int bounded(long millis) {
        return (int) Math.max(FLOOR_MILLIS, Math.min(millis, leftMillis()));
    }

    /**
     * How long to wait for the server to end one exchange: {@code floorMillis}, or the baseline's
     * time plus a margin when the baseline ended (FIN or RST) later than that; then bounded.
     */
    int endWait(long floorMillis) {
        return bounded(Math.max(floorMillis, latencyMillis()));
    }

    /** What one exchange needs to be worth running: the baseline's time and a margin, or a second when it never ended. */
    long latencyMillis() {
        Seen seen = baseline;
        return seen == null || seen.end() == End.OPEN ? LATENCY_MARGIN_MILLIS : seen.ms() + LATENCY_MARGIN_MILLIS;
    }
}
