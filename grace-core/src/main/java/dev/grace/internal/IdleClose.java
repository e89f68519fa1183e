package dev.grace.internal;

/**
 * A drain's rule for one connection: close gracefully once the protocol is idle, its writes
 * reached the kernel and nothing it has not seen waits in the kernel's receive queue. A request
 * the kernel already acknowledged must not be discarded behind our FIN, so input found there
 * first goes to the protocol (one more read pass), which makes it busy again, and the check runs
 * again once it is idle. Where the kernel cannot be asked, a read pass that finds nothing is
 * the proof. Part of the connection's {@link CloseMachine}; confined to its event loop.
 */
final class IdleClose {
    private static final long FRUITLESS_READ_PASS_MAX_DELAY_NANOS = 16_000_000;

    private final CloseMachine machine;
    private final CloseMachine.Io io;
    private final CloseMachine.Kernel kernel;

    private volatile boolean busy;
    private long busyMarks;
    private boolean asked;
    private long deadlineNanos;
    private boolean readPassPending;
    private long unreadBeforePass;
    private long bytesInBeforePass;
    private boolean inputShutBeforePass;
    private long fruitlessDelayNanos = 1;

    IdleClose(CloseMachine machine, CloseMachine.Io io, CloseMachine.Kernel kernel) {
        this.machine = machine;
        this.io = io;
        this.kernel = kernel;
    }

    void markBusy() {
        busy = true;
        busyMarks++;
    }

    /** Busy, as {@link #markBusy()}; returns what {@link #releaseHold} needs to tell whether the protocol marked it busy since. */
    long hold() {
        markBusy();
        return busyMarks;
    }

    /** The end of a hold: idle again, unless the protocol marked the connection busy since it began. */
    void releaseHold(long marks) {
        if (busyMarks == marks && busy) {
            markIdle();
        }
    }

    void markIdle() {
        busy = false;
        closeIfIdle();
    }

    boolean isIdle() {
        return !busy;
    }

    void closeWhenIdle(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
        this.asked = true;
        closeIfIdle();
    }

    /** The peer's FIN came and the protocol does not write after it: close once idle, bounded by the close timeout. */
    void closeOnceIdle() {
        if (!asked) {
            closeWhenIdle(Long.MAX_VALUE);
        }
    }

    void closeIfIdle() {
        if (!asked || busy || readPassPending || !machine.mayStartClosing()) {
            return;
        }
        if (machine.outputShut()) {
            // Our FIN is out: whatever arrives now, the peer sent after it could have seen it.
            machine.beginIdleClose(deadlineNanos);
            return;
        }
        if (io.writesInFlight()) {
            io.flushThen(CloseMachine.Step.CLOSE_IF_IDLE);
            return;
        }
        long unread = kernel.unreadInputBytes(io.bytesIn(), machine.inputShut());
        if (unread == 0) {
            machine.beginIdleClose(deadlineNanos);
            return;
        }
        // Unread input, or the transport cannot tell: one more read pass. Should the kernel keep
        // reporting input no read delivers, look again less and less often.
        readPassPending = true;
        unreadBeforePass = unread;
        bytesInBeforePass = io.bytesIn();
        inputShutBeforePass = machine.inputShut();
        io.readPass(Math.min(FRUITLESS_READ_PASS_MAX_DELAY_NANOS, fruitlessDelayNanos));
    }

    void readPassDone() {
        readPassPending = false;
        boolean nothingCame = io.bytesIn() == bytesInBeforePass && machine.inputShut() == inputShutBeforePass;
        fruitlessDelayNanos = nothingCame ? Math.max(1, 2 * fruitlessDelayNanos) : 1;
        if (unreadBeforePass < 0 && nothingCame && !busy && machine.mayStartClosing() && !io.writesInFlight()) {
            machine.beginIdleClose(deadlineNanos);
        } else {
            closeIfIdle();
        }
    }
}
