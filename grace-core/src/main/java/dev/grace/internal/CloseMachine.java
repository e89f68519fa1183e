package dev.grace.internal;

import dev.grace.CloseMode;
import dev.grace.ConnectionOptions;
import dev.grace.ConnectionState;
import dev.grace.Outcome;
import dev.grace.Side;
import java.io.IOException;
import java.util.function.LongSupplier;

/**
 * The end of one connection, as decisions: which state it is in, and what happens next (flush,
 * send FIN, wait for the peer's FIN or for delivery, close, reset). It holds no channel and no
 * timer: {@link Io} carries its decisions out, {@link Kernel} answers its questions about the
 * socket, and the clock is read through a {@link LongSupplier} (the event loop's ticker), so
 * every path can be driven by a test that advances time itself. Every path ends in exactly one
 * {@link Io#closeSocket(boolean)}. Confined to the connection's event loop.
 *
 * <p>Longer than the files around it on purpose: every transition of a connection's end is in
 * this one class, so a change to one path is read next to all the others it could break. The
 * drain's idle rule, the timers and the kernel's answers are classes of their own.
 */
final class CloseMachine {

    /** A continuation: what to run again once the handler's wait (writes flushed, a poll) is over. */
    enum Step { SEND_FIN, LINGER, RELEASE, ABORT_ONCE_DELIVERED, CLOSE_IF_IDLE }

    /** What the machine asks the channel to do. */
    interface Io {
        /** Flushes, then calls {@link #resume(Step)} with {@code next} once no write is in flight. */
        void flushThen(Step next);

        boolean writesInFlight();

        /** Sends FIN now; reports back with {@link #outputShutDown()} or {@link #finFailed(Throwable, boolean)}. */
        void sendFin();

        /** Closes the socket; with {@code reset}, SO_LINGER 0 first, so the close sends RST. */
        void closeSocket(boolean reset);

        /** Reads (and so discards) until the peer's FIN, whatever the protocol's read policy. */
        void readToEnd();

        /** One more read, then {@link #readPassDone()} once the event loop's next I/O pass ran. */
        void readPass(long delayNanos);

        /** Calls {@link #resume(Step)} with {@code next} a little later (delivery has no event). */
        void pollThen(Step next);

        void closeDeadlineMoved(long deadlineNanos);

        void stateChanged(ConnectionState from, ConnectionState to);

        void finSent();

        long bytesIn();
    }

    /** What the kernel says about the socket, where the transport can ask (epoll); see {@link DeliveryWatch}. */
    interface Kernel {
        boolean canConfirmDelivery();

        /** Our FIN went out and the peer has acknowledged it (and so every byte before it). */
        boolean finAcknowledged();

        /** The peer's FIN is in our kernel, not yet read. */
        boolean peerFinWaiting();

        /** The kernel has already torn the connection down (a reset arrived). */
        boolean connectionGone();

        /** Bytes we wrote that the peer has not acknowledged, or -1 when it cannot be told. */
        long unacknowledgedBytes();

        /** Bytes waiting unread in the receive queue, or -1 when it cannot be told. */
        long unreadInputBytes(long bytesRead, boolean peerFinRead);
    }

    private final ConnectionOptions options;
    private final Io io;
    private final Kernel kernel;
    private final LongSupplier nanoTime;

    private volatile ConnectionState state = ConnectionState.OPEN;
    private CloseMode closingMode;
    private boolean inputShut;
    private boolean outputShut;
    private boolean shuttingOutput;
    private boolean halfCloseRequested;
    private boolean socketClosing;
    private boolean releaseRefused;
    private boolean releasedWithReset;
    private Side firstCloser = Side.NONE;
    private Side firstFin = Side.NONE;
    private Outcome decidedOutcome;
    private Throwable cause;
    private long closeDeadlineNanos = Long.MAX_VALUE;
    private final IdleClose idleClose;

    CloseMachine(ConnectionOptions options, Io io, Kernel kernel, LongSupplier nanoTime) {
        this.options = options;
        this.io = io;
        this.kernel = kernel;
        this.nanoTime = nanoTime;
        this.idleClose = new IdleClose(this, io, kernel);
    }

    // ---- what the application asks -------------------------------------------------------

    void halfClose() {
        if (halfCloseRequested || outputShut || isEnding()) {
            return;
        }
        halfCloseRequested = true;
        io.flushThen(Step.SEND_FIN);
    }

    void beginClose(CloseMode mode, long deadlineNanos) {
        if (isEnding()) {
            return;
        }
        closeBy(deadlineNanos);
        if (state.isClosing()) {
            return;
        }
        closingMode = mode;
        // Unread input at close() is what makes the kernel send RST: read it, and drop it.
        io.readToEnd();
        if (outputShut) {
            setState(ConnectionState.LINGERING);
            lingerStep();
            return;
        }
        setState(ConnectionState.FLUSHING);
        io.flushThen(Step.SEND_FIN);
    }

    void abortOnceDelivered(long deadlineNanos) {
        if (isEnding()) {
            return;
        }
        closeBy(deadlineNanos);
        io.flushThen(Step.ABORT_ONCE_DELIVERED);
    }

    void abort(Outcome outcome) {
        if (isEnding()) {
            return;
        }
        decide(outcome, null);
        if (firstCloser == Side.NONE) {
            firstCloser = Side.LOCAL;
        }
        closeSocket(true);
    }

    /**
     * The one deadline rule: a connection's close deadline can only move earlier. Whoever asks
     * (a graceful close, a linger close, abort-once-delivered, a release with RST, a drain) gets
     * its deadline or the one already set, whichever comes first.
     */
    void closeBy(long deadlineNanos) {
        if (deadlineNanos < closeDeadlineNanos && !isEnding()) {
            closeDeadlineNanos = deadlineNanos;
            io.closeDeadlineMoved(deadlineNanos);
        }
    }

    void closeDeadlinePassed() {
        abort(Outcome.ABORTED_AT_DEADLINE);
    }

    /** No traffic for the current state's limit: an open connection closes, a half-closed one is reset. */
    void inactive() {
        if (socketClosing) {
            return;
        }
        if (state == ConnectionState.OPEN) {
            beginClose(CloseMode.GRACEFUL, nanoTime.getAsLong() + options.closeTimeout().toNanos());
        } else if (state == ConnectionState.FIN_SENT || state == ConnectionState.PEER_FIN_RECEIVED) {
            abort(Outcome.ABORTED_AT_DEADLINE);
        }
    }

    /** The no-traffic limit of the current state: the idle timeout when open, the half-closed one after a FIN; 0 is none. */
    long inactivityLimitNanos() {
        return switch (state) {
            case OPEN -> options.idleTimeout().toNanos();
            case PEER_FIN_RECEIVED, FIN_SENT -> options.halfClosedTimeout().toNanos();
            default -> 0;
        };
    }

    // ---- what the transport reports ------------------------------------------------------

    /** The input ended; returns true when that was the peer's FIN (not a reset, not a repeat). */
    boolean inputShutdown() {
        if (inputShut || isEnding()) {
            return false;
        }
        // A reset arrives as input shutdown too. While our FIN is unsent the kernel state tells
        // it from a FIN; after it, a FIN also leaves the socket in CLOSE.
        if (!outputShut && kernel.connectionGone()) {
            peerReset(new IOException("Connection reset by peer (TCP state CLOSE at input shutdown)"));
            return false;
        }
        inputShut = true;
        peerFinOnTheWire();
        if (state == ConnectionState.OPEN) {
            setState(ConnectionState.PEER_FIN_RECEIVED);
        }
        return true;
    }

    /** After {@link #inputShutdown()} was passed on to the protocol. */
    void peerFinArrived() {
        if (!inputShut || socketClosing) {
            return;
        }
        if (state == ConnectionState.FIN_SENT) {
            closeCleanly();
        } else if (state == ConnectionState.LINGERING) {
            lingerStep();
        } else if (state == ConnectionState.PEER_FIN_RECEIVED && !options.writesAfterPeerFin()) {
            // Without ALLOW_HALF_CLOSURE Netty closes here; Grace waits for what the protocol still owes.
            idleClose.closeOnceIdle();
        }
    }

    void outputShutDown() {
        shuttingOutput = false;
        outputShut = true;
        if (firstFin == Side.NONE) {
            firstFin = Side.LOCAL;
        }
        if (firstCloser == Side.NONE) {
            firstCloser = Side.LOCAL;
        }
        if (state == ConnectionState.OPEN) {
            setState(ConnectionState.FIN_SENT);
        }
        // The half-close future completes once the state says FIN_SENT, before any close.
        io.finSent();
        if (state == ConnectionState.PEER_FIN_RECEIVED) {
            closeCleanly();
        } else if (state == ConnectionState.FLUSHING) {
            setState(ConnectionState.LINGERING);
            lingerStep();
        }
    }

    void finFailed(Throwable failure, boolean peerReset) {
        shuttingOutput = false;
        if (peerReset) {
            peerReset(failure);
        } else {
            fail(failure);
        }
    }

    /**
     * Netty reports an output shutdown; returns true when it was not Grace's: someone sent FIN
     * behind its back, without waiting for pending writes, so whatever they failed is lost.
     */
    boolean outputShutDownOutsideGrace() {
        if (shuttingOutput || outputShut || socketClosing) {
            return false;
        }
        fail(new IllegalStateException("output shut down outside Grace"));
        return true;
    }

    void peerReset(Throwable failure) {
        if (isEnding()) {
            return;
        }
        decide(Outcome.PEER_RESET, failure);
        if (firstCloser == Side.NONE) {
            firstCloser = Side.PEER;
        }
        // The connection is already gone: close() sends nothing more.
        closeSocket(false);
    }

    /** A local failure (a write refused after our FIN included) may have lost bytes the peer was owed: RST. */
    void fail(Throwable failure) {
        if (isEnding()) {
            return;
        }
        decide(Outcome.ERROR, failure);
        abort(Outcome.ERROR);
    }

    // ---- continuations -------------------------------------------------------------------

    void resume(Step step) {
        // Not a switch: javac would make a class for it, loaded by the first close (a cold
        // JVM's first drain paid for that in its first FIN).
        if (step == Step.SEND_FIN) {
            sendFin();
        } else if (step == Step.LINGER) {
            lingerStep();
        } else if (step == Step.RELEASE) {
            releaseWithReset();
        } else if (step == Step.ABORT_ONCE_DELIVERED) {
            abortWhenDelivered();
        } else {
            idleClose.closeIfIdle();
        }
    }

    /**
     * Sends FIN once every write reached the kernel. Netty's shutdownOutput() fails writes still
     * queued and then sends a clean FIN, so calling it any earlier truncates the stream silently.
     */
    private void sendFin() {
        if (outputShut || isEnding()) {
            return;
        }
        if (io.writesInFlight()) {
            io.flushThen(Step.SEND_FIN);
            return;
        }
        if (options.releaseWithReset() && inputShut && !releaseRefused) {
            releaseWithReset();
            return;
        }
        if (!inputShut && kernel.peerFinWaiting()) {
            // The peer's FIN went first on the wire: its sender, not us, will hold TIME_WAIT.
            peerFinOnTheWire();
        }
        shuttingOutput = true;
        io.sendFin();
    }

    /** In LINGERING: close once the peer's FIN arrived (graceful) and, where asked, delivery is confirmed. */
    private void lingerStep() {
        if (state != ConnectionState.LINGERING || socketClosing) {
            return;
        }
        if (closingMode == CloseMode.GRACEFUL && !inputShut) {
            return;
        }
        if (kernel.canConfirmDelivery() && (closingMode == CloseMode.LINGER || options.confirmDelivery()) && !kernel.finAcknowledged()) {
            io.pollThen(Step.LINGER);
            return;
        }
        closeCleanly();
    }

    /**
     * The peer finished first and we have nothing more to send: RST instead of FIN once the peer
     * acknowledged every byte, so no TIME_WAIT is left on either side. Where the send queue
     * cannot be read, the usual FIN.
     */
    private void releaseWithReset() {
        if (isEnding()) {
            return;
        }
        long unacknowledged = kernel.unacknowledgedBytes();
        if (unacknowledged < 0) {
            releaseRefused = true;
            sendFin();
        } else if (unacknowledged > 0) {
            closeBy(nanoTime.getAsLong() + options.closeTimeout().toNanos());
            io.pollThen(Step.RELEASE);
        } else {
            decide(Outcome.RELEASED_WITH_RESET, null);
            releasedWithReset = true;
            closeSocket(true);
        }
    }

    private void abortWhenDelivered() {
        if (isEnding()) {
            return;
        }
        if (kernel.unacknowledgedBytes() > 0) {
            io.pollThen(Step.ABORT_ONCE_DELIVERED);
            return;
        }
        abort(Outcome.ABORTED);
    }

    private void closeCleanly() {
        if (socketClosing) {
            return;
        }
        decide(inputShut ? Outcome.FIN_BOTH_WAYS : Outcome.FIN_SENT, null);
        closeSocket(false);
    }

    private void closeSocket(boolean reset) {
        socketClosing = true;
        io.closeSocket(reset);
    }

    // ---- closing once idle, for a drain (see IdleClose) -----------------------------------

    void markBusy() {
        idleClose.markBusy();
    }

    void markIdle() {
        idleClose.markIdle();
    }

    boolean isIdle() {
        return idleClose.isIdle();
    }

    long hold() {
        return idleClose.hold();
    }

    void releaseHold(long marks) {
        idleClose.releaseHold(marks);
    }

    void closeWhenIdle(long deadlineNanos) {
        closeBy(deadlineNanos);
        idleClose.closeWhenIdle(deadlineNanos);
    }

    /** IdleClose's graceful close: by its deadline or, with none ({@link Long#MAX_VALUE}), within the close timeout. */
    void beginIdleClose(long deadlineNanos) {
        beginClose(CloseMode.GRACEFUL,
                deadlineNanos == Long.MAX_VALUE ? nanoTime.getAsLong() + options.closeTimeout().toNanos() : deadlineNanos);
    }

    void readPassDone() {
        idleClose.readPassDone();
    }

    /** Neither closing nor closed: a drain's graceful close may still start. */
    boolean mayStartClosing() {
        return !isEnding() && !state.isClosing();
    }

    // ---- what the report needs -----------------------------------------------------------

    /** The socket is closed: the one transition to CLOSED. */
    void closed() {
        setState(ConnectionState.CLOSED);
    }

    /** How it ended: as decided, or, closed underneath Grace (transport failure, event loop shut down), as it looks. */
    Outcome outcome() {
        if (decidedOutcome != null) {
            return decidedOutcome;
        }
        return inputShut && outputShut ? Outcome.FIN_BOTH_WAYS : Outcome.ERROR;
    }

    Side firstCloser() {
        if (firstCloser != Side.NONE) {
            return firstCloser;
        }
        return outcome() == Outcome.PEER_RESET ? Side.PEER : Side.LOCAL;
    }

    Side firstFin() {
        return firstFin;
    }

    Throwable cause() {
        return cause;
    }

    void causeIfNone(Throwable failure) {
        if (cause == null) {
            cause = failure;
        }
    }

    ConnectionState state() {
        return state;
    }

    boolean inputShut() {
        return inputShut;
    }

    boolean outputShut() {
        return outputShut;
    }

    boolean releasedWithReset() {
        return releasedWithReset;
    }

    /** Input read now is dropped: the connection is closing. */
    boolean discardsInput() {
        return state.isClosing() || state == ConnectionState.CLOSED;
    }

    /** The socket is closed or closing: no request applies any more. */
    boolean isEnding() {
        return socketClosing || state == ConnectionState.CLOSED;
    }

    long closeDeadlineNanos() {
        return closeDeadlineNanos;
    }

    private void peerFinOnTheWire() {
        if (firstFin == Side.NONE) {
            firstFin = Side.PEER;
        }
        if (firstCloser == Side.NONE) {
            firstCloser = Side.PEER;
        }
    }

    private void decide(Outcome outcome, Throwable failure) {
        if (decidedOutcome == null) {
            decidedOutcome = outcome;
            cause = failure;
        }
    }

    private void setState(ConnectionState to) {
        ConnectionState from = state;
        if (from != to) {
            state = to;
            io.stateChanged(from, to);
        }
    }
}
