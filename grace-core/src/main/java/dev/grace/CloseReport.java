package dev.grace;

import java.net.SocketAddress;
import java.time.Duration;

/**
 * How one connection ended; delivered exactly once, when its socket is closed.
 *
 * @param local                  our address, or null if the channel never connected
 * @param remote                 the peer's address, or null if the channel never connected
 * @param outcome                how it ended
 * @param firstCloser            who sent the first FIN or RST
 * @param timeWaitHolder         which side keeps the connection in TIME_WAIT (the first FIN's
 *                               sender), {@link Side#NONE} when it ended with RST
 * @param delivery               whether the peer is known to have every byte we sent
 * @param bytesIn                bytes read from the socket, discarded ones included
 * @param bytesOut               bytes written to the kernel
 * @param discardedUnsent        bytes the application wrote that never reached the kernel
 * @param discardedInbound       bytes read and dropped by lingering close
 * @param unackedSegmentsAtClose segments in flight and unacknowledged when the socket was
 *                               closed (epoll TCP_INFO), or -1 where the transport cannot tell
 * @param duration               from open to closed
 * @param cause                  the failure behind {@link Outcome#PEER_RESET} or
 *                               {@link Outcome#ERROR}, or null
 */
public record CloseReport(
        SocketAddress local,
        SocketAddress remote,
        Outcome outcome,
        Side firstCloser,
        Side timeWaitHolder,
        Delivery delivery,
        long bytesIn,
        long bytesOut,
        long discardedUnsent,
        long discardedInbound,
        long unackedSegmentsAtClose,
        Duration duration,
        Throwable cause) {

    /** All bytes either side was owed were delivered or explicitly discarded after our FIN. */
    public boolean isClean() {
        return outcome.isClean();
    }
}
