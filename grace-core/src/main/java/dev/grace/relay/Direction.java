package dev.grace.relay;

import dev.grace.Connection;
import dev.grace.relay.RelayReport.Leg;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * One direction of a relay, installed on its source channel after Grace. One read at a time:
 * the next read is requested only once the previous chunk reached the target's kernel, so at
 * most one read buffer (capped at the relay's max buffer) is ever in flight. The source's FIN
 * becomes a half-close of the target, which Grace sends only after that chunk is flushed.
 *
 * <p>Installed as soon as the source exists, before the target may be connected: epoll reads a
 * peer's data and FIN on RDHUP even with auto-read off, so what arrives early is held (one read
 * buffer at most) and handed over when the target is ready. Runs on the session's event loop.
 */
final class Direction extends ChannelInboundHandlerAdapter {
    final Leg sourceLeg;
    private final Connection source;
    private final Relay relay;
    private Connection target;
    private ByteBuf early;
    private boolean sourceEnded;
    private long bytes;
    private long inFlight;
    private long maxInFlight;
    private boolean finCarried;

    Direction(Leg sourceLeg, Connection source, Relay relay) {
        this.sourceLeg = sourceLeg;
        this.source = source;
        this.relay = relay;
    }

    /** The target is connected: hand over what arrived early, then relay. */
    void start(Connection target) {
        this.target = target;
        if (early != null) {
            ByteBuf held = early;
            early = null;
            relay(held);
        } else if (!sourceEnded) {
            source.channel().read();
        }
        if (sourceEnded) {
            carryFin();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (target == null) {
            early = early == null ? buf : ctx.alloc().compositeBuffer().addComponents(true, early, buf);
            return;
        }
        relay(buf);
    }

    private void relay(ByteBuf buf) {
        long n = buf.readableBytes();
        bytes += n;
        inFlight += n;
        maxInFlight = Math.max(maxInFlight, inFlight);
        target.channel().writeAndFlush(buf).addListener((ChannelFuture write) -> {
            inFlight -= n;
            if (write.isSuccess() && !sourceEnded) {
                source.channel().read();
            }
            // A failed write ends the target leg (Grace reports why), and the relay resets the source.
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            sourceEnded = true;
            relay.directionEnded(this);
            if (target != null) {
                carryFin();
            }
        }
        ctx.fireUserEventTriggered(event);
    }

    /** Grace sends the FIN only once what is in flight reached the kernel. */
    private void carryFin() {
        target.shutdownOutput().thenRun(() -> finCarried = true);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (early != null) {
            early.release();
            early = null;
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
