package dev.grace.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * Sits before the HTTP codec and sees every read as bytes: when the last one arrived, and
 * whether the codec holds the start of a request it has not finished decoding. The codec
 * decodes synchronously inside {@code fireChannelRead}, so once that returns the watch knows what
 * the bytes became: nothing (they wait in the codec, unless they were only blank lines
 * between requests) or messages, the last of which either ends a request or does not.
 *
 * <p>One case it cannot see: a read that ends one request and begins the next, with the rest
 * of that next request stalled. The drain then waits only the quiet period for it.
 */
final class InputWatch extends ChannelInboundHandlerAdapter {
    static final String NAME = "grace-http-input";

    private long lastInputNanos;
    private boolean partial;
    private boolean decodedAny;
    private boolean decodedEnd;
    private Http1Drain requests;

    /** Who hears of a read that left part of a request in the codec; null: nobody. */
    void partialRequestsTo(Http1Drain requests) {
        this.requests = requests;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        lastInputNanos = ctx.executor().ticker().nanoTime();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ctx.fireChannelRead(msg);
            return;
        }
        lastInputNanos = ctx.executor().ticker().nanoTime();
        boolean blankOnly = buf.forEachByte(b -> b == '\r' || b == '\n') == -1;
        decodedAny = false;
        ctx.fireChannelRead(msg);
        if (decodedAny) {
            partial = !decodedEnd;
        } else if (!blankOnly) {
            partial = true;
        }
        if (partial && requests != null) {
            requests.partialRequest();
        }
    }

    /** What the codec made of the bytes, in order; called by the handler after it. */
    void decoded(Object message) {
        decodedAny = true;
        decodedEnd = message instanceof LastHttpContent;
    }

    long lastInputNanos() {
        return lastInputNanos;
    }

    /** The codec holds part of a request. */
    boolean partial() {
        return partial;
    }
}
