package dev.grace.http;

import dev.grace.Connection;
import dev.grace.Grace;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import java.nio.charset.StandardCharsets;

/**
 * Turns an HTTP/1.1 request into a WebSocket on a connection {@link HttpProtocol} serves, with
 * Grace's goodbye: on drain a close frame with 1001, FIN after the peer's close frame. During a
 * drain the upgrade is refused with 503 and {@code Connection: close}.
 */
public final class WebSockets {
    private WebSockets() {}

    /**
     * Answers {@code request} (its whole head; call it once the request's last content arrived)
     * with the handshake and puts {@code frames} in place of the application handler at {@code ctx},
     * which then receives WebSocket frames. Returns false when the request was refused instead.
     */
    public static boolean accept(ChannelHandlerContext ctx, HttpRequest request, ChannelHandler frames) {
        ChannelPipeline pipeline = ctx.pipeline();
        if (!(pipeline.get(Http1Drain.NAME) instanceof Http1Drain http1)) {
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, "WebSocket needs an HTTP/1.1 connection served by HttpProtocol");
            return false;
        }
        if (http1.draining()) {
            refuse(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "draining");
            return false;
        }
        if (!request.headers().containsValue(HttpHeaderNames.UPGRADE, "websocket", true)
                || !request.headers().contains(HttpHeaderNames.SEC_WEBSOCKET_KEY)) {
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, "not a WebSocket upgrade (Upgrade: websocket and Sec-WebSocket-Key needed)");
            return false;
        }
        if (!"13".equals(request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_VERSION))) {
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
            return false;
        }
        FullHttpRequest full = new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                Unpooled.EMPTY_BUFFER, request.headers(), io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        String location = "ws://" + request.headers().get(HttpHeaderNames.HOST, "localhost") + request.uri();
        WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory(location, null, true).newHandshaker(full);
        if (handshaker == null) {
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel());
            return false;
        }
        Connection connection = Grace.of(ctx.channel());
        HttpTally tally = HttpProtocol.tallyOf(ctx.channel());
        io.netty.channel.ChannelFuture handshake;
        try {
            handshake = handshaker.handshake(ctx.channel(), full);
        } catch (RuntimeException e) {
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, "WebSocket handshake refused: " + e.getMessage());
            return false;
        }
        handshake.addListener((ChannelFutureListener) done -> {
            if (!done.isSuccess()) {
                return;
            }
            boolean drainBegan = http1.draining();
            if (pipeline.get(InputWatch.NAME) != null) {
                pipeline.remove(InputWatch.NAME);
            }
            WebSocketDrain webSocket = new WebSocketDrain(connection, tally);
            pipeline.replace(Http1Drain.NAME, WebSocketDrain.NAME, webSocket);
            pipeline.replace(ctx.handler(), "websocket-frames", frames);
            if (drainBegan) {
                // Between our 101 and now: it still hears the goodbye, in WebSocket's words.
                webSocket.goodbye();
            }
        });
        return true;
    }

    private static void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String why) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(why + "\n", StandardCharsets.UTF_8));
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        HttpUtil.setKeepAlive(response, false);
        ctx.writeAndFlush(response);
    }
}
