package dev.grace;

/** One end of a connection, seen from Grace. */
public enum Side {
    LOCAL,
    PEER,
    /** Neither: nobody closed yet, or (for TIME_WAIT) the connection ended with RST. */
    NONE
}
