package dev.grace.cli.bench;

import dev.grace.Outcome;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The figures of one run: operations, verified bytes, latency, what each connection's end counts
 * as, and the first data mismatch. Pure bookkeeping, no sockets; written from every event loop,
 * read by the thread that runs the load.
 */
final class Tally {
    /** What a connection's end counts as in the summary. */
    enum End { CLEAN, RESET, TIMEOUT }

    private final Recorder latency = new Recorder(3);
    private final LongAdder operations = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final AtomicInteger clean = new AtomicInteger();
    private final AtomicInteger reset = new AtomicInteger();
    private final AtomicInteger timeout = new AtomicInteger();
    private final AtomicReference<String> mismatch = new AtomicReference<>();

    /**
     * Every ending the peer or the kernel would call orderly is clean (a release with RST after
     * both FINs included); the close deadline passing is a timeout; anything else, a refused
     * connect too, is a reset.
     */
    static End endOf(Outcome outcome) {
        return switch (outcome) {
            case FIN_BOTH_WAYS, FIN_SENT, RELEASED_WITH_RESET -> End.CLEAN;
            case ABORTED_AT_DEADLINE -> End.TIMEOUT;
            case PEER_RESET, ABORTED, ERROR -> End.RESET;
        };
    }

    /** One operation that took {@code latencyNanos}. */
    void operation(long latencyNanos) {
        latency.recordValue(Math.max(1, latencyNanos));
        operations.increment();
    }

    /** One operation without a latency of its own (a stream's write). */
    void operation() {
        operations.increment();
    }

    void verified(int byteCount) {
        bytes.add(byteCount);
    }

    End ended(Outcome outcome) {
        End end = endOf(outcome);
        switch (end) {
            case CLEAN -> clean.incrementAndGet();
            case RESET -> reset.incrementAndGet();
            case TIMEOUT -> timeout.incrementAndGet();
        }
        return end;
    }

    /** Records {@code what} unless an earlier mismatch was; returns whether it was the first. */
    boolean mismatch(String what) {
        return mismatch.compareAndSet(null, what);
    }

    /** The first mismatch, or null. */
    String mismatch() {
        return mismatch.get();
    }

    long operations() {
        return operations.sum();
    }

    long bytes() {
        return bytes.sum();
    }

    /** The latencies recorded since the last call. */
    Histogram interval() {
        return latency.getIntervalHistogram();
    }

    /**
     * The run's result. Operations and bytes are the ones counted when the load's time was up;
     * {@code stillOpen} connections had not ended when the run stopped waiting for them and
     * count as timeouts.
     */
    Load.Result result(Load.Settings settings, double seconds, long operationsAtEnd, long bytesAtEnd, Histogram latencyNanos,
            int stillOpen) {
        return new Load.Result(settings, seconds, operationsAtEnd, bytesAtEnd, latencyNanos, clean.get(), reset.get(),
                timeout.get() + stillOpen, mismatch.get());
    }
}
