package dev.grace.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The application the tests serve, one per HTTP/1.1 connection or HTTP/2 stream:
 * {@code /delay/MS} answers its path after MS ms, {@code /slow-body/MS} sends its head at once
 * and its body after MS ms, {@code /ws} is a WebSocket echo; every request's path is recorded
 * when it reaches the application.
 */
final class TestApp extends ChannelInboundHandlerAdapter {
    /** Paths in the order they reached an application instance. */
    static final BlockingQueue<String> arrived = new LinkedBlockingQueue<>();
    /** Paths whose whole response has been written, in that order. */
    static final BlockingQueue<String> answered = new LinkedBlockingQueue<>();

    private HttpRequest request;

    static String nextArrived() throws InterruptedException {
        String path = arrived.poll(10, TimeUnit.SECONDS);
        if (path == null) {
            throw new AssertionError("no request reached the application within 10 s");
        }
        return path;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof WebSocketFrame frame) {
            ctx.writeAndFlush(frame);
            return;
        }
        try {
            if (msg instanceof HttpRequest head) {
                request = head;
                arrived.add(head.uri());
                if (head.uri().equals("/early")) {
                    answer(ctx, head);   // on the head, before the body: as a 404 or a 413 does
                    request = null;
                }
            }
            if (msg instanceof LastHttpContent && request != null) {
                answer(ctx, request);
                request = null;
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void answer(ChannelHandlerContext ctx, HttpRequest head) {
        String path = head.uri();
        if (path.equals("/throw")) {
            throw new IllegalStateException("the application failed, as asked");
        }
        if (path.equals("/ws")) {
            WebSockets.accept(ctx, head, new TestApp());
            return;
        }
        byte[] body = (path + "\n").getBytes(StandardCharsets.UTF_8);
        long delay = path.startsWith("/delay/") || path.startsWith("/slow-body/")
                ? Long.parseLong(path.substring(path.lastIndexOf('/') + 1)) : 0;
        if (path.startsWith("/slow-body/")) {
            HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            ctx.writeAndFlush(response);
            ctx.executor().schedule(() -> ctx.writeAndFlush(new DefaultLastHttpContent(Unpooled.wrappedBuffer(body))),
                    delay, TimeUnit.MILLISECONDS);
            return;
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(body));
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        ctx.executor().schedule(() -> {
            ctx.writeAndFlush(response);
            answered.add(path);
        }, delay, TimeUnit.MILLISECONDS);
    }
}
