package dev.grace.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.LastHttpContent;

/** One HTTP/2 stream's request in the server's totals: finished once the last of its response is written. */
final class StreamTally extends ChannelDuplexHandler {
    static final String NAME = "grace-h2-stream-tally";
    private final HttpTally tally;
    private boolean open;
    private boolean responseHeadOut;

    boolean responseHeadOut() {
        return responseHeadOut;
    }

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
        if (msg instanceof io.netty.handler.codec.http.HttpResponse) {
            responseHeadOut = true;
        }
        if (msg instanceof LastHttpContent && open) {
            promise = promise.unvoid();
            promise.addListener((ChannelFutureListener) f -> {
                if (f.isSuccess() && open) {
                    open = false;
                    tally.requestFinished();
                }
            });
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (open) {
            open = false;
            tally.requestsAbandoned(1);
        }
        ctx.fireChannelInactive();
    }
}
