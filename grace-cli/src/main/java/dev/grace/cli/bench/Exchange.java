package dev.grace.cli.bench;

import dev.grace.Connection;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;

/**
 * One connection's side of the load, as a handler on its channel: sends pattern chunks, checks
 * what comes back through its {@link EchoLedger}, and ends the whole run on the first mismatch.
 * Runs on the connection's event loop.
 */
abstract class Exchange extends ChannelInboundHandlerAdapter {
    final Load load;
    final Connection connection;
    final EchoLedger ledger;

    Exchange(Load load, int id, Connection connection) {
        this.load = load;
        this.connection = connection;
        this.ledger = new EchoLedger(id, load.settings().sizeBytes());
    }

    /** Checks, counts and releases an echoed chunk; false after a mismatch (which ends the run). */
    boolean echoed(Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        try {
            String mismatch = ledger.echoed(buf);
            if (mismatch != null) {
                mismatched(mismatch);
                return false;
            }
            load.tally().verified(buf.readableBytes());
            return true;
        } finally {
            buf.release();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            String mismatch = ledger.finArrived();
            if (mismatch != null) {
                mismatched(mismatch);
            }
        }
        ctx.fireUserEventTriggered(event);
    }

    private void mismatched(String mismatch) {
        load.mismatched(mismatch);
        connection.abort();
    }
}
