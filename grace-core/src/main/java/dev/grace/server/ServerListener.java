package dev.grace.server;

import dev.grace.Connection;
import dev.grace.ConnectionListener;

/**
 * Observes a server: its connections (as a {@link ConnectionListener}) and the steps of its
 * drain. Connection callbacks run on the connection's event loop, drain callbacks on the drain's
 * thread; return quickly from both.
 */
public interface ServerListener extends ConnectionListener {
    ServerListener NONE = new ServerListener() {};

    default void accepted(Connection connection) {}

    /** Readiness flipped: false from the moment a drain starts. */
    default void readinessChanged(boolean ready) {}

    /** The listening socket is closed: new connects are refused from now on. */
    default void listenerClosed() {}

    default void drained(DrainReport report) {}
}
