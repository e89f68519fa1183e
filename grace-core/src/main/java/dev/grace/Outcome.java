package dev.grace;

/**
 * How a connection ended, worded as the peer would tell it. Every connection gets exactly one.
 */
public enum Outcome {
    /** Both sides sent FIN and every byte either side wrote was read; the clean end. */
    FIN_BOTH_WAYS,
    /**
     * We sent FIN after everything we wrote, then closed without waiting for the peer's FIN
     * (linger close). The peer can still read everything; anything it sends later is reset by
     * the kernel.
     */
    FIN_SENT,
    /**
     * The peer's FIN came first and it acknowledged every byte we sent; we answered with RST
     * instead of FIN ({@code releaseWithReset}), so neither side keeps TIME_WAIT. Nothing was lost.
     */
    RELEASED_WITH_RESET,
    /** The peer sent RST: what it had not read, and what we had not yet sent, is lost. */
    PEER_RESET,
    /** We sent RST on request ({@link Connection#abort()}); unsent data was discarded. */
    ABORTED,
    /** We sent RST because a deadline passed before the connection could end cleanly. */
    ABORTED_AT_DEADLINE,
    /** A local I/O failure other than a reset ended the connection; it was aborted. */
    ERROR;

    /** True when no byte either side was owed was lost: the connection ended with FIN, or was released after one. */
    public boolean isClean() {
        return this == FIN_BOTH_WAYS || this == FIN_SENT || this == RELEASED_WITH_RESET;
    }
}
