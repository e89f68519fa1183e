package dev.grace.server;

import dev.grace.Connection;
import java.util.concurrent.CompletableFuture;

/**
 * What a server speaks. A protocol adds its Netty handlers to each accepted connection's
 * pipeline (after Grace's), and tells Grace when it is busy so a drain lets it finish.
 * Both methods run on the connection's event loop.
 */
public interface Protocol {

    /** A connection was accepted: add the protocol's handlers to {@code connection.channel().pipeline()}. */
    void connectionOpened(Connection connection);

    /**
     * The server is draining. A protocol that can say goodbye (a close frame, a
     * {@code Connection: close} header) does it here; either way it calls
     * {@link Connection#markIdle()} once it has nothing more to send, and Grace then closes the
     * connection gracefully. Before that FIN Grace makes sure nothing waits unread in the kernel:
     * input found there is handed to the protocol first (its handlers read it), and the protocol
     * is expected to mark itself busy again while it answers.
     */
    default void drainStarted(Connection connection) {}

    /**
     * Completes once connections the protocol opened itself (a relay's upstream legs) are all
     * closed. A drain waits for it, bounded, before it shuts the event loops down.
     */
    default CompletableFuture<Void> ownConnectionsClosed() {
        return CompletableFuture.completedFuture(null);
    }

    /**
     * The drain's deadline passed (or a second stop came) while connections the protocol
     * opened itself are still open: abort them, so nothing is closed underneath them with a
     * plain FIN when the event loops shut down.
     */
    default void abortOwnConnections() {}
}
