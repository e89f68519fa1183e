package dev.grace.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import java.util.concurrent.Executor;

/**
 * One connection's writes: how many bytes the application wrote, how many reached the kernel,
 * how many are still in flight, and what to do once none is. The FIN waits on it: Netty's
 * shutdownOutput() fails whatever is still queued and sends a clean FIN anyway. Confined to the
 * connection's event loop, except {@link #written()}, which other threads may read.
 */
final class WriteLedger {
    /** What a write's completion means to the connection. */
    interface Outcomes {
        void written(long bytes);

        void failed(Throwable cause);
    }

    private final Outcomes outcomes;
    private final Executor eventLoop;
    private long enqueued;
    private volatile long written;
    private int inFlight;
    private Runnable onFlushed;

    /** @param eventLoop runs a task on the connection's event loop, after the current one */
    WriteLedger(Outcomes outcomes, Executor eventLoop) {
        this.outcomes = outcomes;
        this.eventLoop = eventLoop;
    }

    /** Counts {@code msg} and returns the promise to write it with, whose completion it watches. */
    ChannelPromise track(Object msg, ChannelPromise promise) {
        long n = sizeOf(msg);
        enqueued += n;
        inFlight++;
        ChannelPromise tracked = promise.unvoid();
        tracked.addListener((ChannelFuture f) -> completed(n, f));
        return tracked;
    }

    private void completed(long n, ChannelFuture write) {
        inFlight--;
        if (write.isSuccess()) {
            written += n;
            outcomes.written(n);
        } else {
            outcomes.failed(write.cause());
        }
        if (inFlight == 0 && onFlushed != null) {
            // Not now: the application's own listeners on this write run after ours, and may
            // write the next chunk. Decide once they have had their turn.
            eventLoop.execute(this::runIfStillFlushed);
        }
    }

    private void runIfStillFlushed() {
        if (inFlight == 0 && onFlushed != null) {
            Runnable next = onFlushed;
            onFlushed = null;
            next.run();
        }
    }

    /** Runs {@code next} once no write is in flight: now, if none is. */
    void whenFlushed(Runnable next) {
        if (inFlight == 0) {
            next.run();
            return;
        }
        Runnable earlier = onFlushed;
        onFlushed = earlier == null ? next : () -> {
            earlier.run();
            next.run();
        };
    }

    boolean inFlight() {
        return inFlight > 0;
    }

    /** Bytes that reached the kernel. */
    long written() {
        return written;
    }

    /** Bytes written by the application that never reached the kernel (so far). */
    long unsent() {
        return enqueued - written;
    }

    private static long sizeOf(Object msg) {
        if (msg instanceof ByteBuf buf) {
            return buf.readableBytes();
        }
        if (msg instanceof ByteBufHolder holder) {
            return holder.content().readableBytes();
        }
        if (msg instanceof FileRegion region) {
            return region.count() - region.transferred();
        }
        return 0;
    }
}
