package dev.grace.server;

import dev.grace.internal.LinuxSockets;
import io.netty.channel.Channel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Closes an epoll listener so that nobody whose {@code connect()} succeeded is reset. Closing a
 * listening socket resets every connection in its accept queue and every handshake completing
 * at that moment, and a connect flood never leaves the queue empty for long. So the kernel is
 * first told to ignore new SYNs (a socket filter): from then on no new handshake begins, those
 * already under way complete within a round trip, and the listener closes once
 * {@link #SETTLE_NANOS} have passed and its accept queue is empty. A client whose SYN was
 * ignored retransmits it a second later and is refused then, never reset. A handshake whose
 * round trip is longer than the settle time (a distant client whose SYN came just before the
 * gate) can still be reset; on loopback and in a data centre it completes well within it.
 *
 * <p>{@link #close} runs on any thread (the stop request's, so the gate goes up at once);
 * {@link #startChecks} hands the checks to the listener's event loop, where they run between
 * its accept passes; {@link #awaitClosed} blocks its caller (the drain thread).
 */
final class HandshakeGate implements Runnable {
    /**
     * Long enough for a handshake whose SYN came just before the filter to complete on loopback,
     * where the whole handshake runs in one softirq pass; short, because every SYN that arrives
     * meanwhile waits for its retransmission, a second later, to be refused.
     */
    static final long SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(250);
    private static final long TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

    private final Channel listener;
    private final long gatedAtNanos;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private boolean acceptingWholeQueue;

    private HandshakeGate(Channel listener, long gatedAtNanos) {
        this.listener = listener;
        this.gatedAtNanos = gatedAtNanos;
    }

    /**
     * Whether {@code listener} can be gated; asked at start, so that a stop pays for no class
     * loading before the gate goes up.
     */
    static boolean supported(Channel listener) {
        return LinuxSockets.acceptQueueLength(listener) >= 0;
    }

    /**
     * Tells the kernel to ignore new SYNs on {@code listener}, from any thread; {@link
     * #startChecks} then closes it once the handshakes under way have been accepted. Returns
     * null, having changed nothing, where that cannot be done (not epoll, or the filter was refused).
     */
    static HandshakeGate close(Channel listener) {
        if (!listener.isOpen() || !LinuxSockets.ignoreNewHandshakes(listener)) {
            return null;
        }
        return new HandshakeGate(listener, System.nanoTime());
    }

    /** Hands the checks to the listener's event loop. */
    HandshakeGate startChecks() {
        listener.eventLoop().execute(this);
        return this;
    }

    /** Blocks until the listener closed, once every handshake under way was accepted. */
    void awaitClosed() {
        try {
            closed.get(TIMEOUT_NANOS + TimeUnit.SECONDS.toNanos(2), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // The listener's loop is stuck: the caller closes it regardless.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs between accept passes, first and then every {@link #POLL_NANOS}: anything still queued
     * is accepted by the next pass. (A Runnable, not a lambda: a stop links no call site.)
     */
    @Override
    public void run() {
        if (!acceptingWholeQueue) {
            acceptingWholeQueue = true;
            BacklogSentinel.acceptWholeQueuePerPass(listener);
        }
        long gatedFor = System.nanoTime() - gatedAtNanos;
        int queued = LinuxSockets.acceptQueueLength(listener);
        if ((gatedFor >= SETTLE_NANOS && queued == 0) || queued < 0 || gatedFor >= TIMEOUT_NANOS) {
            listener.close();
            closed.complete(null);
            return;
        }
        listener.eventLoop().schedule(this, POLL_NANOS, TimeUnit.NANOSECONDS);
    }
}
