package dev.grace;

/** The ways to end a connection; see docs/CLOSE_SEMANTICS.md for what each puts on the wire. */
public enum CloseMode {
    /** Flush, FIN, read and discard until the peer's FIN, close; RST only if the deadline passes. */
    GRACEFUL,
    /** Flush and FIN within the deadline (on epoll: until the peer acknowledged it), then close; RST at the deadline. */
    LINGER,
    /** SO_LINGER 0 and close: RST now, unsent data discarded, no TIME_WAIT. */
    ABORT,
    /**
     * Flush, and on epoll wait until the peer acknowledged every byte, then RST; RST at the
     * deadline regardless. On NIO it resets once the writes reached the kernel.
     */
    ABORT_ONCE_DELIVERED
}
