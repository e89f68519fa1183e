package dev.grace;

/**
 * Where a connection is on its way to {@link #CLOSED}. Transitions:
 * <pre>
 * OPEN ──peer FIN──▶ PEER_FIN_RECEIVED ──our FIN──▶ CLOSED
 * OPEN ──our FIN (half-close)──▶ FIN_SENT ──peer FIN──▶ CLOSED
 * any open state ──graceful or linger close──▶ FLUSHING ──writes reached the kernel, our FIN──▶ LINGERING ──▶ CLOSED
 * any state ──abort, reset, error or deadline──▶ CLOSED
 * </pre>
 */
public enum ConnectionState {
    /** Both directions open. */
    OPEN,
    /** The peer sent FIN; we may still write. Bounded by the half-closed timeout. */
    PEER_FIN_RECEIVED,
    /** We half-closed; the application still reads. Bounded by the half-closed timeout. */
    FIN_SENT,
    /** A close is waiting for pending writes to reach the kernel before our FIN; input is discarded. */
    FLUSHING,
    /** Our FIN is sent; input is read, counted and discarded until the peer's FIN (lingering close). */
    LINGERING,
    /** The socket is closed and the {@link CloseReport} delivered. */
    CLOSED;

    public boolean isClosing() {
        return this == FLUSHING || this == LINGERING;
    }
}
