package dev.grace;

/** What Grace knows about whether the peer got every byte we sent. */
public enum Delivery {
    /** The peer's TCP acknowledged every byte and our FIN (epoll, from TCP_INFO). */
    CONFIRMED,
    /** Every byte reached our kernel and our FIN followed; acknowledgement was not observed (NIO). */
    FLUSHED_TO_KERNEL,
    /** The connection ended with RST or an error: bytes we sent may not have arrived. */
    NOT_GUARANTEED
}
