package dev.grace.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP/2 stream's request, around the application: in the server's totals (finished once
 * the last of its response is written; Grace sends no FIN before every write reached the
 * kernel), and answered even when the application throws: 500 if no response began, else the
 * stream is cancelled (RST_STREAM), never left open until the deadline. One handler, not two:
 * every stream pays for each handler in its pipeline.
 */
final class StreamTally extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(StreamTally.class);

    private final HttpTally tally;
    private boolean open;
    private boolean responseHeadOut;

    StreamTally(HttpTally tally) {
        this.tally = tally;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        open = true;
        tally.requestStarted();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse) {
            responseHeadOut = true;
        }
        ctx.write(msg, promise);
        if (msg instanceof LastHttpContent && open) {
            open = false;
            tally.requestFinished();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (open) {
            open = false;
            tally.requestsAbandoned(1);
        }
        ctx.fireChannelInactive();
    }

    /** The application, after this handler, threw: what it failed to answer still gets an answer. */
    void applicationFailed(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("the application failed on {}", ctx.channel(), cause);
        if (responseHeadOut) {
            ctx.channel().close();   // an HTTP/2 stream channel closes with RST_STREAM CANCEL
            return;
        }
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.INTERNAL_SERVER_ERROR,
                Unpooled.copiedBuffer("Internal Server Error\n", StandardCharsets.US_ASCII));
        HttpUtil.setContentLength(response, response.content().readableBytes());
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
        ctx.writeAndFlush(response);
    }
}
