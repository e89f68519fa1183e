package dev.grace.relay;

import dev.grace.Connection;
import dev.grace.relay.RelayReport.Leg;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * One direction of a relay, installed on its source channel after Grace. At most one chunk of
 * at most the relay's max buffer is in flight toward the target; the next read is requested only
 * once it reached the target's kernel. The source's FIN becomes a half-close of the target once
 * everything read before it was written.
 *
 * <p>Reads can arrive when none was asked for: before the target is connected, and on epoll
 * after the peer's FIN (Netty then reads to the end of the stream whatever auto-read says).
 * Those are held in order and relayed one chunk at a time; what they can add is bounded by the
 * kernel's receive window. Runs on the session's event loop.
 */
final class Direction extends ChannelInboundHandlerAdapter {
    final Leg sourceLeg;
    private final Connection source;
    private final Relay relay;
    private final int maxChunkBytes;
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private Connection target;
    private boolean sourceEnded;
    private boolean finRequested;
    private long bytes;
    private long inFlight;
    private long maxInFlight;
    private boolean finCarried;

    Direction(Leg sourceLeg, Connection source, Relay relay, int maxChunkBytes) {
        this.sourceLeg = sourceLeg;
        this.source = source;
        this.relay = relay;
        this.maxChunkBytes = maxChunkBytes;
    }

    /** The target is connected: relay what was held, then read on. */
    void start(Connection target) {
        this.target = target;
        next();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        relay.progress();
        held.add(buf);
        next();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            sourceEnded = true;
            relay.directionEnded(this);
            next();
        }
        ctx.fireUserEventTriggered(event);
    }

    /** Writes the next held chunk if nothing is in flight; else carries the FIN; else reads. */
    private void next() {
        if (target == null || inFlight > 0) {
            return;
        }
        ByteBuf head = held.peek();
        if (head != null) {
            ByteBuf chunk = head.readableBytes() <= maxChunkBytes ? held.poll() : head.readRetainedSlice(maxChunkBytes);
            write(chunk);
        } else if (sourceEnded) {
            if (!finRequested) {
                finRequested = true;
                // Grace sends the FIN only once what is in flight reached the kernel.
                target.shutdownOutput().thenRun(() -> finCarried = true);
            }
        } else if (source.channel().isOpen()) {
            source.channel().read();
        }
    }

    private void write(ByteBuf chunk) {
        long n = chunk.readableBytes();
        bytes += n;
        inFlight = n;
        maxInFlight = Math.max(maxInFlight, n);
        target.channel().writeAndFlush(chunk).addListener((ChannelFuture write) -> {
            inFlight = 0;
            relay.progress();
            if (write.isSuccess()) {
                next();
            } else {
                release();
            }
            // A failed write ends the target leg (Grace reports why), and the relay resets the source.
        });
    }

    /**
     * The source channel closed (Grace closes a leg once both its directions are done, which can
     * be while chunks read from it still wait here): keep relaying them. Only a target that can
     * no longer take them makes them garbage.
     */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (target == null || !target.channel().isOpen()) {
            release();
        }
    }

    /** The target leg closed: nothing held can reach it any more. */
    void targetClosed() {
        release();
    }

    private void release() {
        for (ByteBuf buf; (buf = held.poll()) != null; ) {
            buf.release();
        }
    }

    long bytes() {
        return bytes;
    }

    long maxInFlight() {
        return maxInFlight;
    }

    /** Whether the source's FIN reached the target as ours. */
    boolean finCarried() {
        return finCarried;
    }
}
