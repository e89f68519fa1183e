package dev.grace.relay;

import dev.grace.Connection;
import java.net.SocketAddress;

/** Observes relayed sessions. Called on the session's event loop: return quickly. */
public interface RelayListener {
    RelayListener NONE = new RelayListener() {};

    /** A relayed session ended: both legs are closed. Not called when the upstream never connected. */
    default void relayed(RelayReport report) {}

    /** The upstream could not be reached; the client was reset. */
    default void upstreamFailed(Connection client, SocketAddress upstream, Throwable cause) {}
}
