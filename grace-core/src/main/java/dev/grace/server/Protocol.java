package dev.grace.server;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;

/**
 * What a server speaks. A protocol adds its Netty handlers to each accepted connection's
 * pipeline (after Grace's), and tells Grace when it is busy so a drain lets it finish.
 * Both methods run on the connection's event loop.
 */
public interface Protocol {

    /** A connection was accepted: add the protocol's handlers to {@code connection.channel().pipeline()}. */
    void connectionOpened(Connection connection);

    /**
     * The server is draining; on the connection's event loop. A protocol that can say goodbye
     * does it here (a close frame, a GOAWAY) or on its next response ({@code Connection: close});
     * either way it calls {@link Connection#markIdle()} once it has nothing more to send, and Grace
     * then closes the connection gracefully. A connection that is idle when this returns is
     * closed at once: one with no response to carry the goodbye can be kept for a request that is
     * already on its way with {@link Connection#holdOpen} (or {@link Connection#markBusy()} and a
     * timer of the protocol's own, as {@code grace-http}'s quiet rule does). Before the FIN Grace
     * makes sure nothing waits unread in the kernel: input found there is handed to the protocol
     * first (its handlers read it), and the protocol is expected to mark itself busy again while
     * it answers.
     */
    default void drainStarted(Connection connection) {}

    /**
     * As {@link #drainStarted(Connection)}, knowing how long the drain's deadline leaves: a
     * protocol with a last word for that moment (HTTP/2 resets its open streams) schedules it
     * a little before Grace resets the connection. An idle connection with no response to
     * carry a goodbye can be held for a request or two with {@link Connection#holdOpen}.
     */
    default void drainStarted(Connection connection, java.time.Duration timeLeft) {
        drainStarted(connection);
    }

    /** Running totals of the protocol's requests, for the drain's report; {@link RequestCounts#NONE} without requests. */
    default RequestCounts requestCounts() {
        return RequestCounts.NONE;
    }

    /**
     * The options Grace puts on this protocol's connections, given the server's: a protocol
     * whose own timers bound a state (a relay's fin timeout bounds half-closed legs) adjusts them.
     */
    default ConnectionOptions connectionOptions(ConnectionOptions asked) {
        return asked;
    }

    /**
     * Once, before the server accepts its first connection: a protocol that opens connections
     * of its own hands them to {@link Server#adopt(Connection)}, so that the drain owns them too.
     */
    default void serverStarting(Server server) {}
}
