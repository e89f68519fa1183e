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
 * already under way complete within a loopback round trip, and the listener closes as soon as
 * it has been quiet for {@link #SETTLE_NANOS} with an empty accept queue. A client whose SYN
 * was ignored retransmits it a second later and is refused, never reset.
 *
 * <p>{@link #closeOnceHandshakesAccepted} blocks its caller (the drain thread); the checks run
 * on the listener's event loop, between its accept passes.
 */
final class HandshakeGate {
    /** Long enough for a handshake whose SYN came just before the filter to complete on loopback. */
    static final long SETTLE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long POLL_NANOS = TimeUnit.MICROSECONDS.toNanos(500);
    private static final long TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(300);

    private final Channel listener;
    private final CompletableFuture<Boolean> closed = new CompletableFuture<>();
    private long gatedAtNanos;

    private HandshakeGate(Channel listener) {
        this.listener = listener;
    }

    /**
     * Gates and then closes {@code listener}; returns once it is closed, or false at once (having
     * changed nothing) where the kernel cannot be told to ignore SYNs.
     */
    static boolean closeOnceHandshakesAccepted(Channel listener) {
        HandshakeGate gate = new HandshakeGate(listener);
        listener.eventLoop().execute(gate::gate);
        try {
            return gate.closed.get(TIMEOUT_NANOS + TimeUnit.SECONDS.toNanos(2), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // The listener's loop is stuck: the caller closes it regardless.
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    private void gate() {
        if (!listener.isOpen()) {
            closed.complete(true);
            return;
        }
        if (!LinuxSockets.ignoreNewHandshakes(listener)) {
            closed.complete(false);
            return;
        }
        BacklogSentinel.acceptWholeQueuePerPass(listener);
        gatedAtNanos = System.nanoTime();
        listener.eventLoop().schedule(this::closeIfQuiet, POLL_NANOS, TimeUnit.NANOSECONDS);
    }

    /** Runs between accept passes: anything still queued is accepted by the next one. */
    private void closeIfQuiet() {
        long gatedFor = System.nanoTime() - gatedAtNanos;
        int queued = LinuxSockets.acceptQueueLength(listener);
        if ((gatedFor >= SETTLE_NANOS && queued == 0) || queued < 0 || gatedFor >= TIMEOUT_NANOS) {
            listener.close();
            closed.complete(true);
            return;
        }
        listener.eventLoop().schedule(this::closeIfQuiet, POLL_NANOS, TimeUnit.NANOSECONDS);
    }
}
