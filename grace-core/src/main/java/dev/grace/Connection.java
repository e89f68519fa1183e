package dev.grace;

import io.netty.channel.Channel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One TCP connection and the ways to end it. Every method may be called from any thread, in
 * any state, any number of times: a request that no longer applies (closing what is closed,
 * half-closing twice) does nothing, and a harder request overrides a softer one (an abort
 * during a graceful close sends RST at once).
 *
 * <p>The futures complete on the connection's event loop; do not block in their callbacks.
 */
public interface Connection {

    Channel channel();

    ConnectionState state();

    /**
     * Half-close: once every pending write reached the kernel, send FIN and keep reading. The
     * future completes when the FIN was sent, or exceptionally if the connection ended first.
     */
    CompletableFuture<Void> shutdownOutput();

    /**
     * Graceful close: flush pending writes, send FIN, read and discard until the peer's FIN,
     * close. If {@code deadline} passes first the connection is aborted (RST).
     */
    CompletableFuture<CloseReport> closeGracefully(Duration deadline);

    /**
     * Linger close: flush pending writes and send FIN (on epoll: until the peer acknowledged
     * them) within {@code deadline}, then close; RST at the deadline. Unlike kernel SO_LINGER it
     * never blocks a thread, and it does send RST when time runs out.
     */
    CompletableFuture<CloseReport> lingerClose(Duration deadline);

    /** Abort: SO_LINGER 0 and close. RST now; unsent data is discarded; no TIME_WAIT. */
    CompletableFuture<CloseReport> abort();

    /**
     * Abort once everything written was delivered: pending writes are flushed and, where the
     * kernel's send queue can be read (epoll on Linux), acknowledged by the peer; then RST. At
     * {@code deadline} the RST goes regardless. On NIO it resets once the writes reached the kernel.
     */
    CompletableFuture<CloseReport> abortOnceDelivered(Duration deadline);

    /**
     * Abort because a deadline the caller owns passed (a drain's, a relay's fin timeout): RST now,
     * reported as {@link Outcome#ABORTED_AT_DEADLINE}.
     */
    CompletableFuture<CloseReport> abortAtDeadline();

    /**
     * What a drain asks of each connection: close gracefully once the protocol is idle (see
     * {@link #markIdle()}), every write reached the kernel and nothing waits unread in the
     * kernel's receive queue (input found there goes to the protocol first, one more read); RST
     * at {@code deadline}, counted from when the connection's event loop takes the request.
     */
    CompletableFuture<CloseReport> closeWhenIdle(Duration deadline);

    /**
     * How long nothing moved on this connection: neither through Grace nor, where the transport
     * can tell (epoll), in the kernel, which keeps delivering bytes handed to it long ago.
     * Read it on the connection's event loop.
     */
    long idleNanos();

    /** Ends the connection the given way; {@code deadline} is ignored for {@link CloseMode#ABORT}. */
    default CompletableFuture<CloseReport> close(CloseMode mode, Duration deadline) {
        return switch (mode) {
            case GRACEFUL -> closeGracefully(deadline);
            case LINGER -> lingerClose(deadline);
            case ABORT -> abort();
            case ABORT_ONCE_DELIVERED -> abortOnceDelivered(deadline);
        };
    }

    /** Completes once, when the socket is closed, with how the connection ended. */
    CompletableFuture<CloseReport> closeFuture();

    /** Bytes read so far, discarded ones included. */
    long bytesIn();

    /** Bytes that reached the kernel so far. */
    long bytesOut();

    /**
     * Tells Grace the protocol is in the middle of something (a request being answered), so a
     * drain waits for {@link #markIdle()} before closing. Connections start idle.
     */
    void markBusy();

    /** The protocol finished what it was doing; a draining server may close the connection now. */
    void markIdle();

    boolean isIdle();

    /**
     * A goodbye window: busy for at most {@code window}, then idle again unless the protocol marked
     * it busy since. A drain hook calls it on a connection that has nothing in flight, so that a
     * request already on its way is answered (and carries the goodbye) instead of racing our FIN;
     * {@link #markIdle()} ends the window early. The drain's deadline still applies.
     */
    void holdOpen(Duration window);
}
