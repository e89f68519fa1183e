package dev.grace.cli.bench;

import dev.grace.Connection;
import io.netty.channel.ChannelHandlerContext;

/** Echo: SIZE bytes out, the same SIZE back and checked, again, until the run stops; then half-close. */
final class PingPong extends Exchange {
    private long sentAtNanos;

    PingPong(Load load, int id, Connection connection) {
        super(load, id, connection);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        next(ctx);
        ctx.fireChannelActive();
    }

    private void next(ChannelHandlerContext ctx) {
        if (load.stopping()) {
            connection.shutdownOutput();
            return;
        }
        sentAtNanos = System.nanoTime();
        ctx.writeAndFlush(ledger.nextChunk(ctx.alloc()));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (echoed(msg) && ledger.allEchoed()) {
            load.tally().operation(System.nanoTime() - sentAtNanos);
            next(ctx);
        }
    }
}
