package dev.grace.http;

import dev.grace.Connection;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/2 connection's streams, after the multiplexer: busy while any stream is open.
 *
 * <p>On drain, first a PING, with the streams' frames held in a {@link StreamFrameFence} from
 * then until the last GOAWAY, so that the client has read everything sent before the drain
 * when it reads the first GOAWAY, and reads both GOAWAYs before any stream that ends after
 * them. Then the two-phase GOAWAY: last-stream-id 2^31−1 with a second PING, so that streams
 * the client opened before it saw the GOAWAY are still accepted; once that PING is acknowledged
 * (everything sent before the ack has arrived) a GOAWAY with the real last stream id; open
 * streams finish, then Grace sends the FIN. A client may never acknowledge (nghttp2#1103), so
 * each wait is at most {@link #PING_ACK_WAIT} or a share of what the deadline leaves. Just before the
 * deadline open streams get RST_STREAM CANCEL and a GOAWAY with CANCEL, then Grace resets the
 * connection. Netty leaves the two phases to its users (netty#3731, netty#9094); grpc-java's
 * server handler does the same dance. Confined to the connection's event loop.
 */
final class Http2Drain extends ChannelDuplexHandler {
    static final String NAME = "grace-http2";
    static final Duration PING_ACK_WAIT = Duration.ofSeconds(1);
    /** "fence" and "grace" in the PINGs' eight bytes, to know our acks from any other. */
    private static final long FENCE_PING_DATA = 0x66656e6365L;
    private static final long PING_DATA = 0x6772616365L;
    private static final long DEADLINE_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final Connection connection;
    private final Http2FrameCodec codec;
    private final StreamFrameFence fence;
    private final HttpTally tally;
    private final HttpProtocol.ConnectionRequests requests;
    private ChannelHandlerContext ctx;
    private int openStreams;
    private boolean draining;
    private boolean firstGoAwaySent;
    private boolean finalGoAwaySent;
    private long deadlineNanos;
    private ScheduledFuture<?> pingAckWait;
    private ScheduledFuture<?> lastWord;
    private boolean cancelled;

    Http2Drain(Connection connection, Http2FrameCodec codec, StreamFrameFence fence, HttpTally tally,
            HttpProtocol.ConnectionRequests requests) {
        this.connection = connection;
        this.codec = codec;
        this.fence = fence;
        this.tally = tally;
        this.requests = requests;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        requests.http2 = true;
        // A drain that began while this was still HTTP/1.1 goes on in HTTP/2's words, once the switch is done.
        if (ctx.pipeline().get(Http1Drain.NAME) instanceof Http1Drain http1 && http1.draining()) {
            Duration timeLeft = http1.drainTimeLeft();
            ctx.executor().execute(() -> goodbye(timeLeft));
        }
        // HTTP/1.1 is over on this connection, by prior knowledge or by upgrade.
        for (String http1 : HttpProtocol.HTTP1_HANDLERS) {
            if (ctx.pipeline().get(http1) != null) {
                ctx.pipeline().remove(http1);
            }
        }
        codec.connection().addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamActive(Http2Stream stream) {
                if (stream.id() % 2 == 1) {
                    streamOpened();
                }
            }

            @Override
            public void onStreamClosed(Http2Stream stream) {
                if (stream.id() % 2 == 1) {
                    streamClosed();
                }
            }
        });
    }

    private void streamOpened() {
        openStreams++;
        requests.count++;
        connection.markBusy();
    }

    private void streamClosed() {
        openStreams--;
        if (openStreams == 0 && (!draining || finalGoAwaySent) && !cancelled) {
            connection.markIdle();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2PingFrame ping && ping.ack()) {
            if (ping.content() == FENCE_PING_DATA) {
                firstGoAway();
            } else if (ping.content() == PING_DATA) {
                finalGoAway();
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * The client's FIN: it sends nothing more, so the PING ack will not come and a GOAWAY written
     * to a client that closed its socket would only draw its RST. The first GOAWAY was the goodbye.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent && draining && !finalGoAwaySent) {
            finalGoAwaySent = true;
            cancel(pingAckWait);
            fence.lower();
            if (firstGoAwaySent) {
                tally.goodbyeSaid();
            }
            if (openStreams == 0) {
                connection.markIdle();
            }
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel(pingAckWait);
        cancel(lastWord);
        ctx.fireChannelInactive();
    }

    /** The server is draining; on the connection's event loop. */
    void goodbye(Duration timeLeft) {
        if (draining) {
            return;
        }
        draining = true;
        connection.markBusy();
        long left = timeLeft.toNanos();
        deadlineNanos = ctx.executor().ticker().nanoTime() + left;
        fence.raise();
        ctx.writeAndFlush(new DefaultHttp2PingFrame(FENCE_PING_DATA));
        pingAckWait = ctx.executor().schedule(this::firstGoAway, Math.min(PING_ACK_WAIT.toNanos(), left / 4),
                TimeUnit.NANOSECONDS);
        lastWord = ctx.executor().schedule(this::deadline, Math.max(0, left - Math.min(DEADLINE_MARGIN_NANOS, left / 10)),
                TimeUnit.NANOSECONDS);
    }

    private void firstGoAway() {
        if (!draining || firstGoAwaySent || finalGoAwaySent) {
            return;
        }
        firstGoAwaySent = true;
        cancel(pingAckWait);
        DefaultHttp2GoAwayFrame first = new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR);
        // Netty adds this to the last stream created and caps the sum at 2^31-1.
        first.setExtraStreamIds(Integer.MAX_VALUE);
        ctx.write(first);
        ctx.writeAndFlush(new DefaultHttp2PingFrame(PING_DATA));
        long left = Math.max(0, deadlineNanos - ctx.executor().ticker().nanoTime());
        pingAckWait = ctx.executor().schedule(this::finalGoAway, Math.min(PING_ACK_WAIT.toNanos(), left / 2),
                TimeUnit.NANOSECONDS);
    }

    private void finalGoAway() {
        if (!draining || !firstGoAwaySent || finalGoAwaySent) {
            return;
        }
        finalGoAwaySent = true;
        cancel(pingAckWait);
        ctx.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
        // The streams' frames follow the last GOAWAY: a client that read them first could find
        // itself with nothing open, close, and answer a GOAWAY still on its way with an RST.
        fence.lower();
        tally.goodbyeSaid();
        if (openStreams == 0) {
            connection.markIdle();
        }
    }

    /** What is still open is cancelled in HTTP/2's words before Grace resets the connection. */
    private void deadline() {
        fence.lower();
        if (openStreams == 0) {
            return;
        }
        // Cancelled streams are not finished ones: the connection stays busy for Grace's reset.
        cancelled = true;
        ChannelHandlerContext codecCtx = ctx.pipeline().context(codec);
        int lastStreamId = codec.connection().remote().lastStreamCreated();
        try {
            codec.connection().forEachActiveStream(stream -> {
                if (stream.id() % 2 == 1) {
                    codec.resetStream(codecCtx, stream.id(), Http2Error.CANCEL.code(), codecCtx.newPromise());
                }
                return true;
            });
        } catch (io.netty.handler.codec.http2.Http2Exception e) {
            // Resetting streams cannot fail this way; the RST below ends them regardless.
        }
        // The connection's GOAWAY state allows no second frame with the same id: write it directly.
        codec.encoder().frameWriter().writeGoAway(codecCtx, lastStreamId, Http2Error.CANCEL.code(), Unpooled.EMPTY_BUFFER,
                codecCtx.newPromise());
        // Grace's own deadline resets the connection a moment later: the frames leave first
        // (a reset discards what is still in the kernel's send queue).
        codecCtx.flush();
    }

    private static void cancel(ScheduledFuture<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }
}
