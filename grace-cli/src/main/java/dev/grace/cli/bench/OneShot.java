package dev.grace.cli.bench;

import dev.grace.Connection;
import io.netty.channel.ChannelHandlerContext;

/** Churn: one request, half-close, read to EOF and check; the connection's end starts the next (see {@link Load}). */
final class OneShot extends Exchange {
    OneShot(Load load, int id, Connection connection) {
        super(load, id, connection);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(ledger.nextChunk(ctx.alloc()));
        connection.shutdownOutput();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        echoed(msg);
    }
}
