package dev.grace.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;

/**
 * Between the frame codec and the multiplexer: while raised, the streams' frames wait here and
 * the connection's own frames (PING, GOAWAY, SETTINGS) pass.
 *
 * <p>Why: a client that reads a stream's last DATA frame and our GOAWAY in one go opens its next
 * stream on the first and then, on the second, refuses it itself (nghttp2 closes it with
 * REFUSED_STREAM; h2load counts it as an errored request). {@link Http2Drain} raises the fence
 * and sends a PING; once it is acknowledged the client has read everything sent before, and the
 * GOAWAYs go out ahead of the held frames. The fence comes down behind the last GOAWAY: released
 * earlier, the held frames could end the client's last streams, and a client with nothing open
 * after a GOAWAY closes its socket, so the last GOAWAY would reach a closed socket and draw an
 * RST. Confined to the connection's event loop.
 */
final class StreamFrameFence extends ChannelOutboundHandlerAdapter {
    static final String NAME = "grace-h2-fence";

    private final ArrayDeque<Held> held = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean raised;

    private record Held(Object frame, ChannelPromise promise) {
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    void raise() {
        raised = true;
    }

    /** Writes what waited, in order, and lets frames through again. */
    void lower() {
        if (!raised) {
            return;
        }
        raised = false;
        if (held.isEmpty()) {
            return;
        }
        for (Held frame; (frame = held.poll()) != null; ) {
            ctx.write(frame.frame(), frame.promise());
        }
        ctx.flush();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (raised && msg instanceof Http2StreamFrame) {
            held.add(new Held(msg, promise));
        } else {
            ctx.write(msg, promise);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        raised = false;
        ClosedChannelException closed = null;
        for (Held frame; (frame = held.poll()) != null; ) {
            if (closed == null) {
                closed = new ClosedChannelException();
            }
            ReferenceCountUtil.release(frame.frame());
            frame.promise().tryFailure(closed);
        }
    }
}
