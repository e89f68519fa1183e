package dev.grace.http;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After the application (an exception travels towards the pipeline's tail): what it threw
 * must not leave its request unanswered, a connection busy until the drain's deadline resets it.
 * HTTP/1.1: 500 with {@code Connection: close} if no response began, else RST. HTTP/2: see
 * {@link StreamTally#applicationFailed}. Stateless, so one serves every pipeline.
 */
@ChannelHandler.Sharable
final class ApplicationFailure extends ChannelInboundHandlerAdapter {
    static final ApplicationFailure INSTANCE = new ApplicationFailure();
    private static final Logger log = LoggerFactory.getLogger(ApplicationFailure.class);

    private ApplicationFailure() {}

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (ctx.pipeline().get(Http1Drain.NAME) instanceof Http1Drain http1) {
            log.warn("the application failed on {}", ctx.channel(), cause);
            if (http1.responseHeadOut()) {
                dev.grace.Grace.of(ctx.channel()).abort();
            } else {
                http1.refuse(HttpResponseStatus.INTERNAL_SERVER_ERROR);
            }
        } else if (ctx.pipeline().get(StreamTally.class) != null) {
            ctx.pipeline().get(StreamTally.class).applicationFailed(ctx, cause);
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }
}
