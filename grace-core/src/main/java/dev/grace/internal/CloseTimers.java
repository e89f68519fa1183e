package dev.grace.internal;

import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Every timer of one connection, on its event loop, read from the loop's ticker (so a
 * test's loop can advance time): the close deadline, the no-traffic timeout of the current
 * state, the delivery poll (the kernel has no event for "the peer acknowledged everything", so
 * it is asked again, backing off from 1 ms to 64 ms) and the wait for a read pass. Confined to
 * that event loop.
 */
final class CloseTimers {
    private static final long FIRST_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(64);

    private final Channel channel;
    private final LongSupplier kernelIdleNanos;
    private final Runnable deadlinePassed;
    private final Runnable inactive;
    private final Runnable inactivityCheck = this::inactivityCheck;

    private ScheduledFuture<?> deadline;
    private ScheduledFuture<?> inactivity;
    private long inactivityLimitNanos;
    private long lastActivityNanos;
    private ScheduledFuture<?> poll;
    private long pollDelayNanos = FIRST_POLL_NANOS;

    /**
     * @param kernelIdleNanos how long the kernel saw nothing move, or -1 where it cannot tell
     * @param deadlinePassed  runs when the close deadline passes
     * @param inactive        runs when the no-traffic limit passes
     */
    CloseTimers(Channel channel, LongSupplier kernelIdleNanos, Runnable deadlinePassed, Runnable inactive) {
        this.channel = channel;
        this.kernelIdleNanos = kernelIdleNanos;
        this.deadlinePassed = deadlinePassed;
        this.inactive = inactive;
    }

    /** The channel's loop: asked each time, since Grace may be installed before the channel is registered. */
    private EventExecutor loop() {
        return channel.eventLoop();
    }

    long nanoTime() {
        return loop().ticker().nanoTime();
    }

    /** The close deadline moved (only ever earlier, see {@link CloseMachine#closeBy(long)}). */
    void closeBy(long deadlineNanos) {
        cancel(deadline);
        deadline = loop().schedule(deadlinePassed, Math.max(0, deadlineNanos - nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** A byte moved through Grace. */
    void activity() {
        lastActivityNanos = nanoTime();
    }

    /**
     * How long nothing moved: neither through Grace nor, where the transport can tell, in the
     * kernel, which keeps delivering bytes Grace handed it long ago.
     */
    long idleNanos() {
        long idle = nanoTime() - lastActivityNanos;
        long kernelIdle = kernelIdleNanos.getAsLong();
        return kernelIdle < 0 ? idle : Math.min(idle, kernelIdle);
    }

    /** The no-traffic limit for the state just entered, counted from the last activity; 0 is none. */
    void watchInactivity(long limitNanos) {
        cancel(inactivity);
        inactivity = null;
        inactivityLimitNanos = limitNanos;
        if (limitNanos > 0) {
            long remaining = limitNanos - (nanoTime() - lastActivityNanos);
            inactivity = loop().schedule(inactivityCheck, Math.max(0, remaining), TimeUnit.NANOSECONDS);
        }
    }

    private void inactivityCheck() {
        inactivity = null;
        long limit = inactivityLimitNanos;
        if (limit == 0) {
            return;
        }
        long idle = idleNanos();
        if (idle < limit) {
            inactivity = loop().schedule(inactivityCheck, limit - idle, TimeUnit.NANOSECONDS);
        } else {
            inactive.run();
        }
    }

    /** Runs {@code next} after the current poll delay, which doubles each time; one poll at a time. */
    void poll(Runnable next) {
        if (poll == null) {
            poll = loop().schedule(() -> {
                poll = null;
                next.run();
            }, pollDelayNanos, TimeUnit.NANOSECONDS);
            pollDelayNanos = Math.min(2 * pollDelayNanos, MAX_POLL_NANOS);
        }
    }

    /**
     * Runs {@code next} once the loop's next I/O pass ran, at least {@code delayNanos} from now:
     * a task scheduled from a task runs only after that pass, and execute() first makes this hold
     * when called from an I/O callback too.
     */
    void afterNextReadPass(long delayNanos, Runnable next) {
        EventExecutor loop = loop();
        loop.execute(() -> loop.schedule(next, delayNanos, TimeUnit.NANOSECONDS));
    }

    void cancelAll() {
        cancel(deadline);
        cancel(inactivity);
        cancel(poll);
        inactivityLimitNanos = 0;
    }

    private static void cancel(ScheduledFuture<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
