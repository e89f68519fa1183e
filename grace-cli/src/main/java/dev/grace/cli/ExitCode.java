package dev.grace.cli;

/** The exit codes every command shares (PRODUCT.md). */
final class ExitCode {
    static final int OK = 0;
    /** Refused, unreachable, address in use: the message names the address. */
    static final int IO_FAILURE = 1;
    /** Bad flag or value: the message names both. */
    static final int USAGE = 2;
    /** The peer reset the connection (client). */
    static final int PEER_RESET = 3;
    /** Nothing sent or received for the timeout (client). */
    static final int TIMEOUT = 4;
    /** The server's FIN arrived while stdin still had bytes to send (client). */
    static final int SERVER_FINISHED_FIRST = 5;

    private ExitCode() {}
}
