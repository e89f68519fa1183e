package dev.grace;

/**
 * Observes connections. Called on the connection's event loop: return quickly, never block.
 * Both methods are cheap to leave on: one virtual call per state change and per close.
 */
public interface ConnectionListener {
    ConnectionListener NONE = new ConnectionListener() {};

    default void stateChanged(Connection connection, ConnectionState from, ConnectionState to) {}

    default void closed(Connection connection, CloseReport report) {}

    /** A listener that calls {@code this}, then {@code next}. */
    default ConnectionListener andThen(ConnectionListener next) {
        ConnectionListener first = this;
        return new ConnectionListener() {
            @Override
            public void stateChanged(Connection connection, ConnectionState from, ConnectionState to) {
                first.stateChanged(connection, from, to);
                next.stateChanged(connection, from, to);
            }

            @Override
            public void closed(Connection connection, CloseReport report) {
                first.closed(connection, report);
                next.closed(connection, report);
            }
        };
    }
}
