package dev.grace.server;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Outcome;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server stop, step by step (see {@link Server#stop()}). The steps run in order on a thread
 * of their own, which only waits; every action on a connection runs on that connection's event
 * loop, and every connection deadline is a timer there.
 */
final class Drain {
    private static final Logger log = LoggerFactory.getLogger(Drain.class);
    private static final long LISTENER_STEP_TIMEOUT_MILLIS = 2_000;
    private static final long ABORT_WAIT_SECONDS = 5;
    private static final int CLOSES_PER_TASK = 256;

    /** What a drain needs of its server: the narrow way back in. */
    interface Target {
        /** The connections open now. */
        List<Connection> connections();

        Iterable<EventExecutor> connectionLoops();

        /** Closes the listener, with {@code acceptBacklogFirst} so as to reset no client whose connect() succeeded. */
        void closeListener(boolean acceptBacklogFirst);

        /** Waits (bounded) until every connection the listener accepted has been set up. */
        void awaitAcceptedInitialized(long timeoutMillis) throws InterruptedException;

        /** The protocol's drain hook, on the connection's event loop. */
        void drainStarted(Connection connection, Duration timeLeft);

        /** The protocol's running request totals. */
        RequestCounts requestCounts();

        /** Completes once every connection the server adopted is closed. */
        CompletableFuture<Void> adoptedClosed();

        void abortAdopted();

        /** The drain is over (report null if it failed): shut the event loops down, tell the listener. */
        void stopped(DrainReport report);
    }

    private final Target server;
    private final ServerOptions options;
    private final CompletableFuture<Void> begun = new CompletableFuture<>();
    private final BiConsumer<CloseReport, Throwable> trackedClosed = this::trackedClosed;
    private final List<CloseIdleOnLoop> closeIdleOnLoops = new ArrayList<>();
    private final CompletableFuture<Void> forced = new CompletableFuture<>();
    private final CompletableFuture<DrainReport> report = new CompletableFuture<>();
    private final CompletableFuture<Void> allClosed = new CompletableFuture<>();
    private final Set<Connection> tracked = ConcurrentHashMap.newKeySet();
    private final Set<Connection> closing = ConcurrentHashMap.newKeySet();
    private final AtomicInteger stillOpen = new AtomicInteger();
    private final AtomicIntegerArray outcomeCounts = new AtomicIntegerArray(Outcome.values().length);
    private final LongAdder discardedUnsent = new LongAdder();
    private final LongAdder discardedInbound = new LongAdder();
    private volatile boolean skipDelay;
    private volatile boolean joining;
    private volatile boolean trackingDone;
    private volatile long startNanos;
    private volatile RequestCounts requestsAtStart = RequestCounts.NONE;
    private volatile long deadlineNanos;

    Drain(ServerOptions options, Target server) {
        this.server = server;
        this.options = options;
    }

    CompletableFuture<DrainReport> report() {
        return report;
    }

    /**
     * Starts the drain's thread, which waits for {@link #begin(boolean)}. It starts with the server, and
     * the classes a stop needs are loaded now, so that a stop pays for no thread start and no
     * class loading: measured on a cold JVM, those delayed the first idle FIN by 6 to 15 ms.
     */
    void prepare(int port) {
        for (EventExecutor loop : server.connectionLoops()) {
            closeIdleOnLoops.add(new CloseIdleOnLoop((EventLoop) loop));
        }
        Thread thread = new Thread(this::run, "grace-drain-" + port);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * The first stop request. Without a drain delay the idle connections are asked to close right
     * here, on the caller's thread: waking the drain's thread first cost up to 16 ms on a busy
     * machine, and an idle client should see its FIN within 10 ms of the signal. {@code skipDelay}
     * when another process has taken the listener over and answers readiness now.
     */
    void begin(boolean skipDelay) {
        this.skipDelay = skipDelay;
        if (skipDelay || options.drainDelay().isZero()) {
            startClosingIdle();
        }
        begun.complete(null);
    }

    /**
     * Steps (c) and (d) for every connection open now; later ones join as they are accepted.
     * Without a close window, each event loop finds and closes its own connections: the caller
     * only hands one task to each loop.
     */
    private void startClosingIdle() {
        requestsAtStart = server.requestCounts();
        startNanos = System.nanoTime();
        deadlineNanos = startNanos + options.drainTimeout().toNanos();
        joining = true;
        // Spread closes over at most half the drain timeout: the last ones still need time to
        // close gracefully before the deadline aborts them.
        long windowNanos = Math.min(options.idleCloseWindow().toNanos(), options.drainTimeout().toNanos() / 2);
        if (windowNanos == 0) {
            for (CloseIdleOnLoop task : closeIdleOnLoops) {
                task.loop.execute(task);
            }
            return;
        }
        List<Connection> toClose = server.connections();
        for (int i = 0; i < toClose.size(); i++) {
            track(toClose.get(i));
            startClosing(toClose.get(i), windowNanos * i / toClose.size());
        }
    }

    /** A second stop request: abort whatever is left now. */
    void force() {
        forced.complete(null);
    }

    /** A connection accepted from the backlog while the listener closes joins the drain. */
    void joined(Connection connection) {
        if (joining) {
            track(connection);
            startClosing(connection, 0);
        }
    }

    private void run() {
        try {
            begun.join();
            DrainReport result = drain();
            server.stopped(result);
            report.complete(result);
        } catch (Throwable t) {
            log.warn("drain of {} failed", server, t);
            server.stopped(null);
            report.completeExceptionally(t);
        }
    }

    private DrainReport drain() throws InterruptedException {
        if (!skipDelay && !options.drainDelay().isZero()) {
            awaitForced(options.drainDelay().toNanos());
            startClosingIdle();
        }
        server.closeListener(!forced.isDone());
        server.awaitAcceptedInitialized(LISTENER_STEP_TIMEOUT_MILLIS);
        // Accepted while the listener closed, in the moment before the drain could see them.
        for (Connection connection : server.connections()) {
            if (track(connection)) {
                startClosing(connection, 0);
            }
        }
        trackingDone = true;
        if (stillOpen.get() == 0) {
            allClosed.complete(null);
        }

        if (!awaitAllClosedOrForced()) {
            boolean byForce = forced.isDone();
            for (Connection connection : tracked) {
                if (byForce) {
                    connection.abort();
                } else {
                    connection.abortAtDeadline();
                }
            }
            try {
                allClosed.get(ABORT_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                log.warn("{} connections still open {} s after being aborted", stillOpen.get(), ABORT_WAIT_SECONDS);
            }
        }
        awaitAdopted();
        Map<Outcome, Integer> counts = new EnumMap<>(Outcome.class);
        for (Outcome outcome : Outcome.values()) {
            counts.put(outcome, outcomeCounts.get(outcome.ordinal()));
        }
        return new DrainReport(counts, discardedUnsent.sum(), discardedInbound.sum(),
                Duration.ofNanos(System.nanoTime() - startNanos), forced.isDone(),
                server.requestCounts().since(requestsAtStart));
    }

    /** Counts {@code connection} in the report; returns false if it already was. */
    private boolean track(Connection connection) {
        if (!tracked.add(connection)) {
            return false;
        }
        stillOpen.incrementAndGet();
        connection.closeFuture().whenComplete(trackedClosed);
        return true;
    }

    private void trackedClosed(CloseReport closed, Throwable failure) {
        if (closed != null) {
            record(closed);
        }
        if (stillOpen.decrementAndGet() == 0 && trackingDone) {
            allClosed.complete(null);
        }
    }

    /** Steps (c) and (d): the protocol's drain hook, then a graceful close once idle. */
    private void startClosing(Connection connection, long delayNanos) {
        if (closing.add(connection)) {
            EventLoop loop = connection.channel().eventLoop();
            if (delayNanos > 0) {
                loop.schedule(() -> askToClose(connection), delayNanos, TimeUnit.NANOSECONDS);
            } else {
                loop.execute(() -> askToClose(connection));
            }
        }
    }

    /**
     * Steps (c) and (d) for one event loop's connections, on that loop, counting each for the
     * report. A class, not a lambda, made at start: a stop links no call site (on a cold JVM
     * each cost about a millisecond).
     */
    private final class CloseIdleOnLoop implements Runnable {
        final EventLoop loop;
        private List<Connection> connections;
        private int next;

        CloseIdleOnLoop(EventLoop loop) {
            this.loop = loop;
        }

        /**
         * A few connections at a time, the rest after the loop's next I/O pass: thousands of
         * closes must not hold the loop.
         */
        @Override
        public void run() {
            if (connections == null) {
                connections = new ArrayList<>();
                for (Connection connection : server.connections()) {
                    if (connection.channel().eventLoop() == loop) {
                        connections.add(connection);
                    }
                }
            }
            int end = Math.min(connections.size(), next + CLOSES_PER_TASK);
            for (; next < end; next++) {
                Connection connection = connections.get(next);
                if (closing.add(connection)) {
                    askToClose(connection);
                }
                track(connection);
            }
            if (next < connections.size()) {
                loop.schedule(this, 1, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** On {@code connection}'s event loop. */
    private void askToClose(Connection connection) {
        Duration timeLeft = Duration.ofNanos(Math.max(0, deadlineNanos - System.nanoTime()));
        try {
            server.drainStarted(connection, timeLeft);
        } catch (RuntimeException e) {
            log.warn("drain hook of {} failed on {}", server, connection, e);
            connection.markIdle();
        }
        connection.closeWhenIdle(timeLeft);
    }

    /** Connections the server adopted (a relay's upstream legs) get until the deadline too, then RST. */
    private void awaitAdopted() throws InterruptedException {
        CompletableFuture<Void> own = server.adoptedClosed();
        try {
            CompletableFuture.anyOf(own, forced).get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Deadline.
        }
        if (own.isDone()) {
            return;
        }
        server.abortAdopted();
        try {
            server.adoptedClosed().get(ABORT_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            log.warn("connections adopted by {} still open {} s after being aborted", server, ABORT_WAIT_SECONDS);
        }
    }

    private void record(CloseReport closed) {
        outcomeCounts.incrementAndGet(closed.outcome().ordinal());
        discardedUnsent.add(closed.discardedUnsent());
        discardedInbound.add(closed.discardedInbound());
    }

    private void awaitForced(long nanos) throws InterruptedException {
        if (nanos <= 0) {
            return;
        }
        try {
            forced.get(nanos, TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // The delay ran out: carry on.
        }
    }

    /** True when every tracked connection closed before the deadline and without a second stop. */
    private boolean awaitAllClosedOrForced() throws InterruptedException {
        try {
            CompletableFuture.anyOf(allClosed, forced).get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // Deadline.
        }
        return allClosed.isDone();
    }
}
