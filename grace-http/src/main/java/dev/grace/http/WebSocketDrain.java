package dev.grace.http;

import dev.grace.Connection;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * A WebSocket connection's end: always busy until the close handshake. On drain a close frame
 * with 1001 (going away); once the peer's close frame arrives, or once we answered the peer's
 * own close, Grace closes the connection gracefully (the server's FIN first, as RFC 6455 asks).
 * The application's frames pass through; close frames are handled here.
 */
final class WebSocketDrain extends ChannelDuplexHandler {
    static final String NAME = "grace-websocket";

    private final Connection connection;
    private final HttpTally tally;
    private ChannelHandlerContext ctx;
    private boolean closeSent;
    private boolean draining;

    WebSocketDrain(Connection connection, HttpTally tally) {
        this.connection = connection;
        this.tally = tally;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        connection.markBusy();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof CloseWebSocketFrame close)) {
            ctx.fireChannelRead(msg);
            return;
        }
        int status = close.statusCode();
        ReferenceCountUtil.release(close);
        if (!closeSent) {
            closeSent = true;
            ctx.write(status < 0 ? new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE)
                    : new CloseWebSocketFrame(status, ""));
        }
        ctx.flush();
        ctx.close();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (closeSent) {
            // After our close frame RFC 6455 allows nothing more of ours.
            ReferenceCountUtil.release(msg);
            promise.tryFailure(new java.nio.channels.ClosedChannelException());
            return;
        }
        if (msg instanceof CloseWebSocketFrame) {
            closeSent = true;
        }
        ctx.write(msg, promise);
    }

    /** The server is draining; on the connection's event loop. */
    void goodbye() {
        if (draining) {
            return;
        }
        draining = true;
        if (!closeSent) {
            closeSent = true;
            tally.goodbyeSaid();
            ctx.writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.ENDPOINT_UNAVAILABLE, "going away"));
        }
    }

    boolean draining() {
        return draining;
    }
}
