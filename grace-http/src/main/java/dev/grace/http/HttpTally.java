package dev.grace.http;

import dev.grace.server.RequestCounts;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** A server's running request totals, over all its connections and protocols (HTTP/1.1, HTTP/2, WebSocket). */
final class HttpTally {
    private final AtomicLong inFlight = new AtomicLong();
    private final LongAdder finished = new LongAdder();
    private final LongAdder goodbyes = new LongAdder();
    private final LongAdder closedIdle = new LongAdder();
    private final LongAdder discarded = new LongAdder();

    void requestStarted() {
        inFlight.incrementAndGet();
    }

    void requestFinished() {
        inFlight.decrementAndGet();
        finished.increment();
    }

    /** Requests that will never be answered: their connection ended first. */
    void requestsAbandoned(int n) {
        inFlight.addAndGet(-n);
    }

    void goodbyeSaid() {
        goodbyes.increment();
    }

    void closedIdle(int delta) {
        closedIdle.add(delta);
    }

    void discardedAfterGoodbye() {
        discarded.increment();
    }

    RequestCounts snapshot() {
        return new RequestCounts(inFlight.get(), finished.sum(), goodbyes.sum(), closedIdle.sum(), discarded.sum());
    }
}
