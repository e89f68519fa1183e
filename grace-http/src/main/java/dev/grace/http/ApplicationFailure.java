package dev.grace.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After the application: an exception it threw must not leave its request unanswered (a
 * connection busy until the drain's deadline resets it). With no response begun the client
 * gets 500 and, on HTTP/1.1, the connection closes gracefully after it; with a response half
 * sent there is no honest way to finish it, so HTTP/1.1 is reset and an HTTP/2 stream cancelled.
 */
final class ApplicationFailure extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ApplicationFailure.class);

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("the application failed on {}", ctx.channel(), cause);
        if (ctx.pipeline().get(Http1Drain.NAME) instanceof Http1Drain http1) {
            if (http1.responseHeadOut()) {
                dev.grace.Grace.of(ctx.channel()).abort();
            } else {
                http1.refuse(HttpResponseStatus.INTERNAL_SERVER_ERROR);
            }
        } else if (ctx.pipeline().get(StreamTally.NAME) instanceof StreamTally stream) {
            if (stream.responseHeadOut()) {
                ctx.channel().close();   // an HTTP/2 stream channel closes with RST_STREAM CANCEL
            } else {
                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.INTERNAL_SERVER_ERROR,
                        Unpooled.copiedBuffer("Internal Server Error\n", StandardCharsets.US_ASCII));
                HttpUtil.setContentLength(response, response.content().readableBytes());
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
                ctx.writeAndFlush(response);
            }
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }
}
