package dev.grace.cli.http;

import dev.grace.http.WebSockets;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The routes of {@code grace server --protocol http}, one instance per HTTP/1.1 connection or
 * HTTP/2 stream (requests reach it one at a time): {@code GET /}, {@code GET /delay/MS} (a timer),
 * {@code GET /bytes/N} and {@code POST /echo} (both streamed with backpressure), {@code GET /ws}.
 */
public final class Routes extends ChannelInboundHandlerAdapter {
    static final int MAX_BODY_BYTES = 1024 * 1024;
    private static final long MAX_DELAY_MILLIS = TimeUnit.HOURS.toMillis(1);
    private static final int CHUNK_BYTES = 16 * 1024;
    private static final byte[] OK = "ok\n".getBytes(StandardCharsets.US_ASCII);
    private static final Pattern DELAY = Pattern.compile("/delay/(\\d{1,10})");
    private static final Pattern BYTES = Pattern.compile("/bytes/(\\d{1,15})");

    private enum Route { OK, DELAY, BYTES, ECHO, WEBSOCKET, ANSWERED }

    private Route route;
    private HttpRequest request;
    private long number;
    private long bodyBytes;
    private long bytesLeft;
    private boolean echoPaused;
    private ScheduledFuture<?> delay;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        boolean handedOn = false;
        try {
            if (msg instanceof HttpRequest head) {
                start(ctx, head);
            }
            if (msg instanceof HttpContent content) {
                handedOn = body(ctx, content);
            }
        } finally {
            if (!handedOn) {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    private void start(ChannelHandlerContext ctx, HttpRequest head) {
        request = head;
        bodyBytes = 0;
        String path;
        try {
            path = new QueryStringDecoder(head.uri()).path();
        } catch (IllegalArgumentException badEscape) {
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, null);
            return;
        }
        HttpMethod method = head.method();
        Matcher delayMatch = DELAY.matcher(path);
        Matcher bytesMatch = BYTES.matcher(path);
        if (path.equals("/echo")) {
            if (method.equals(HttpMethod.POST)) {
                startEcho(ctx, head);
            } else {
                refuse(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "POST");
            }
            return;
        }
        Route asked;
        if (path.equals("/")) {
            asked = Route.OK;
        } else if (delayMatch.matches()) {
            asked = Route.DELAY;
            number = Long.parseLong(delayMatch.group(1));
        } else if (bytesMatch.matches()) {
            asked = Route.BYTES;
            number = Long.parseLong(bytesMatch.group(1));
        } else if (path.equals("/ws")) {
            asked = Route.WEBSOCKET;
        } else {
            respond(ctx, HttpResponseStatus.NOT_FOUND, ("no route for " + path + "\n").getBytes(StandardCharsets.UTF_8), true);
            route = Route.ANSWERED;
            return;
        }
        if (!method.equals(HttpMethod.GET)) {
            refuse(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "GET");
            return;
        }
        if (asked == Route.DELAY && number > MAX_DELAY_MILLIS) {
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, null);
            return;
        }
        if (HttpUtil.getContentLength(head, 0L) > MAX_BODY_BYTES) {
            refuse(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, null);
            return;
        }
        route = asked;
    }

    /** Returns true when the content's bytes were handed on (echoed) and must not be released here. */
    private boolean body(ChannelHandlerContext ctx, HttpContent content) {
        if (route == Route.ECHO) {
            echo(ctx, content);
            return true;
        }
        if (route == Route.ANSWERED || route == null) {
            return false;
        }
        bodyBytes += content.content().readableBytes();
        if (bodyBytes > MAX_BODY_BYTES) {
            refuse(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, null);
            return false;
        }
        if (!(content instanceof LastHttpContent)) {
            return false;
        }
        Route answering = route;
        route = Route.ANSWERED;
        switch (answering) {
            case OK -> respond(ctx, HttpResponseStatus.OK, OK, true);
            case DELAY -> delay = ctx.executor().schedule(() -> {
                delay = null;
                respond(ctx, HttpResponseStatus.OK, OK, true);
            }, number, TimeUnit.MILLISECONDS);
            case BYTES -> startBytes(ctx);
            case WEBSOCKET -> WebSockets.accept(ctx, request, new WebSocketEcho());
            default -> { }
        }
        return false;
    }

    // ---- /bytes/N ----------------------------------------------------------------------------

    private void startBytes(ChannelHandlerContext ctx) {
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
        HttpUtil.setContentLength(head, number);
        ctx.write(head);
        bytesLeft = number;
        route = Route.BYTES;
        pumpBytes(ctx);
    }

    /** Writes while the channel takes it; the rest when it is writable again. */
    private void pumpBytes(ChannelHandlerContext ctx) {
        while (bytesLeft > 0 && ctx.channel().isWritable()) {
            int n = (int) Math.min(CHUNK_BYTES, bytesLeft);
            ByteBuf chunk = ctx.alloc().buffer(n);
            for (int i = 0; i < n; i++) {
                chunk.writeByte('a' + (int) ((number - bytesLeft + i) % 26));
            }
            bytesLeft -= n;
            ctx.write(new DefaultHttpContent(chunk));
        }
        if (bytesLeft == 0) {
            route = Route.ANSWERED;
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            ctx.flush();
        }
    }

    // ---- POST /echo --------------------------------------------------------------------------

    private void startEcho(ChannelHandlerContext ctx, HttpRequest head) {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, type != null ? type : HttpHeaderValues.APPLICATION_OCTET_STREAM);
        if (HttpUtil.isContentLengthSet(head)) {
            HttpUtil.setContentLength(response, HttpUtil.getContentLength(head, 0L));
        } else {
            HttpUtil.setTransferEncodingChunked(response, true);
        }
        ctx.write(response);
        route = Route.ECHO;
    }

    /** The body goes back as it comes; reading pauses while the client does not take it. */
    private void echo(ChannelHandlerContext ctx, HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        ByteBuf bytes = content.content();
        ctx.writeAndFlush(last ? new DefaultLastHttpContent(bytes) : new DefaultHttpContent(bytes));
        if (last) {
            route = Route.ANSWERED;
            resumeReading(ctx);
        } else if (!ctx.channel().isWritable()) {
            echoPaused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void resumeReading(ChannelHandlerContext ctx) {
        if (echoPaused) {
            echoPaused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            if (route == Route.BYTES) {
                pumpBytes(ctx);
            } else {
                resumeReading(ctx);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (delay != null) {
            delay.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    // ---- answers -----------------------------------------------------------------------------

    /** An answer that ends the connection after it: wrong method, too big, bad number. */
    private void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, String allow) {
        FullHttpResponse response = fullResponse(status, (status.reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII));
        if (allow != null) {
            response.headers().set(HttpHeaderNames.ALLOW, allow);
        }
        HttpUtil.setKeepAlive(response, false);
        ctx.writeAndFlush(response);
        route = Route.ANSWERED;
    }

    private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, byte[] body, boolean flush) {
        FullHttpResponse response = fullResponse(status, body);
        if (flush) {
            ctx.writeAndFlush(response);
        } else {
            ctx.write(response);
        }
    }

    private static FullHttpResponse fullResponse(HttpResponseStatus status, byte[] body) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return response;
    }
}
