package dev.grace.cli.bench;

import dev.grace.Connection;
import io.netty.channel.ChannelHandlerContext;

/** Stream: write while the channel is writable, check everything that comes back; half-close once the run stops. */
final class Stream extends Exchange {
    private boolean finished;

    Stream(Load load, int id, Connection connection) {
        super(load, id, connection);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        pump(ctx);
        ctx.fireChannelActive();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        pump(ctx);
        ctx.fireChannelWritabilityChanged();
    }

    private void pump(ChannelHandlerContext ctx) {
        while (!load.stopping() && ctx.channel().isWritable()) {
            ctx.write(ledger.nextChunk(ctx.alloc())).addListener(f -> {
                if (f.isSuccess()) {
                    load.tally().operation();
                }
            });
        }
        ctx.flush();
        if (load.stopping() && !finished) {
            finished = true;
            connection.shutdownOutput();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (echoed(msg) && load.stopping() && !finished) {
            pump(ctx);
        }
    }
}
