package dev.grace.testing;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionState;
import dev.grace.server.DrainReport;
import dev.grace.server.ServerListener;
import dev.grace.testkit.EventLog;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A hand-written listener that keeps everything a server told it, for tests to wait on. */
public final class Recorder implements ServerListener {
    private final BlockingQueue<Connection> accepted = new LinkedBlockingQueue<>();
    private final BlockingQueue<CloseReport> closed = new LinkedBlockingQueue<>();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final BlockingQueue<ConnectionState> statesEntered = new LinkedBlockingQueue<>();
    private final EventLog log;

    public Recorder(EventLog log) {
        this.log = log;
    }

    public Recorder() {
        this(null);
    }

    @Override
    public void accepted(Connection connection) {
        accepted.add(connection);
    }

    @Override
    public void stateChanged(Connection connection, ConnectionState from, ConnectionState to) {
        events.add(from + "->" + to);
        statesEntered.add(to);
        if (log != null) {
            log.add("server", "state " + to);
        }
    }

    @Override
    public void closed(Connection connection, CloseReport report) {
        closed.add(report);
    }

    @Override
    public void readinessChanged(boolean ready) {
        events.add("ready=" + ready);
    }

    @Override
    public void listenerClosed() {
        events.add("listener closed");
    }

    @Override
    public void drained(DrainReport report) {
        events.add("drained");
    }

    public Connection nextAccepted() throws InterruptedException {
        Connection connection = accepted.poll(10, TimeUnit.SECONDS);
        if (connection == null) {
            throw new AssertionError("no connection accepted within 10 s");
        }
        return connection;
    }

    public CloseReport nextClosed() throws InterruptedException {
        CloseReport report = closed.poll(10, TimeUnit.SECONDS);
        if (report == null) {
            throw new AssertionError("no connection closed within 10 s; events " + events);
        }
        return report;
    }

    /** Waits until some connection entered {@code state} (states entered earlier count too). */
    public void awaitState(ConnectionState state) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (ConnectionState entered; (entered = statesEntered.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) != null; ) {
            if (entered == state) {
                return;
            }
        }
        throw new AssertionError("no connection entered " + state + " within 10 s; events " + events);
    }

    public List<String> events() {
        return events;
    }
}
