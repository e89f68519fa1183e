package dev.grace.cli.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;

/** {@code /ws}: every data frame back as it came; pings answered. Close frames are Grace's. */
final class WebSocketEcho extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PingWebSocketFrame ping) {
            ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
        } else if (msg instanceof PongWebSocketFrame) {
            ReferenceCountUtil.release(msg);
        } else if (msg instanceof WebSocketFrame) {
            ctx.writeAndFlush(msg);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }
}
