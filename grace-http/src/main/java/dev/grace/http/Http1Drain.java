package dev.grace.http;

import dev.grace.Connection;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 connection's requests, between the codec and the application: busy from a
 * request to the last byte of its response (once written, Grace sees it to the kernel before any
 * FIN); pipelined requests handed to the application one at a time, so they are answered in
 * order; a malformed request answered here (400, 431, 505) and the connection closed gracefully
 * after the answer.
 *
 * <p>On drain the response in flight, or the next one, carries {@code Connection: close} (the
 * last of the requests already received, when several are pipelined) and the connection closes
 * gracefully after it. A connection with nothing in flight is idle once nothing arrived, and
 * nothing of ours was still leaving, for {@link HttpProtocol#QUIET_MILLIS}, and the codec holds
 * no partial request: then Grace sends the FIN. A client that keeps sending therefore learns of
 * the drain from a response, never from a FIN racing its next request. Confined to the
 * connection's event loop.
 */
final class Http1Drain extends ChannelDuplexHandler {
    static final String NAME = "grace-http1";
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(HttpProtocol.QUIET_MILLIS);
    private static final Integer CLOSE_AFTER = 1;
    private static final Integer HTTP_1_0 = 2;

    private final Connection connection;
    private final HttpTally tally;
    private final InputWatch input;
    private final HttpProtocol.ConnectionRequests requests;
    /** Objects of requests behind the one the application is answering. */
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    /** Each request received and not yet answered, in order: {@link #CLOSE_AFTER} and {@link #HTTP_1_0} bits. */
    private final ArrayDeque<Integer> unanswered = new ArrayDeque<>();
    private final Runnable deliverQueued = this::deliverQueued;
    private ChannelHandlerContext ctx;
    private boolean answering;
    private boolean responseHeadOut;
    private boolean closeAfterResponse;
    private boolean goodbyeSaid;
    private boolean switchingProtocols;
    private boolean readingPaused;
    private boolean upgradeChecked;
    private boolean draining;
    private long drainDeadlineNanos;
    private long lastResponseWrittenNanos;
    private ScheduledFuture<?> quietCheck;
    private boolean countedClosedIdle;

    Http1Drain(Connection connection, HttpTally tally, InputWatch input, HttpProtocol.ConnectionRequests requests) {
        this.connection = connection;
        this.tally = tally;
        this.input = input;
        this.requests = requests;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        input.partialRequestsTo(this);
    }

    /** Replaced by HTTP/2 or a WebSocket, or the channel is gone: nothing of ours may stay behind. */
    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancelQuietCheck();
        input.partialRequestsTo(null);
        for (Object msg : queued) {
            if (msg instanceof HttpRequest) {
                tally.requestsAbandoned(1);
                unanswered.pollLast();
            }
            ReferenceCountUtil.release(msg);
        }
        queued.clear();
        resumeReading();
    }

    boolean draining() {
        return draining;
    }

    /** What the drain's deadline still leaves, for the protocol that takes over from this one. */
    Duration drainTimeLeft() {
        return Duration.ofNanos(Math.max(0, drainDeadlineNanos - ctx.executor().ticker().nanoTime()));
    }

    // ---- inbound -----------------------------------------------------------------------------

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        input.decoded(msg);
        if (goodbyeSaid) {
            // After Connection: close nothing more is answered; the client retries what it sent.
            if (msg instanceof HttpRequest) {
                tally.discardedAfterGoodbye();
            }
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request) {
            requestArrived(request);
        }
        if (!queued.isEmpty() || (msg instanceof HttpRequest && answering)) {
            queued.add(msg);
            pauseReading();
            return;
        }
        deliver(msg);
    }

    private void requestArrived(HttpRequest request) {
        if (countedClosedIdle) {
            countedClosedIdle = false;
            tally.closedIdle(-1);
        }
        connection.markBusy();
        cancelQuietCheck();
        requests.count++;
        tally.requestStarted();
        int flags = HttpUtil.isKeepAlive(request) ? 0 : CLOSE_AFTER;
        if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            flags |= HTTP_1_0;
        }
        unanswered.add(flags);
    }

    /** The codec holds the start of a request: during a drain that is busy, even after the quiet rule said idle. */
    void partialRequest() {
        if (draining && unanswered.isEmpty() && !goodbyeSaid) {
            if (countedClosedIdle) {
                countedClosedIdle = false;
                tally.closedIdle(-1);
            }
            connection.markBusy();
            checkQuiet();
        }
    }

    private void deliver(Object msg) {
        if (msg instanceof HttpRequest request) {
            answering = true;
            HttpResponseStatus refusal = refusal(request);
            if (refusal != null) {
                ReferenceCountUtil.release(msg);
                refuse(refusal);
                return;
            }
            firstRequestSeen();
            if (HttpUtil.is100ContinueExpected(request)) {
                ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
                request.headers().remove(HttpHeaderNames.EXPECT);
            }
        } else if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
            // A broken body: the codec now drops everything after it. What the application has is not
            // the request the client sent, so it must not answer it as if it were.
            ReferenceCountUtil.release(msg);
            if (responseHeadOut) {
                connection.abort();
            } else {
                refuse(HttpResponseStatus.BAD_REQUEST);
            }
            return;
        }
        ctx.fireChannelRead(msg);
    }

    /** Clients ask for h2c on a connection's first request; after it the upgrade handler would only cost every later message a look. */
    private void firstRequestSeen() {
        if (!upgradeChecked) {
            upgradeChecked = true;
            if (ctx.pipeline().get(HttpServerUpgradeHandler.class) != null) {
                ctx.pipeline().remove(HttpServerUpgradeHandler.class);
            }
        }
    }

    /** What the codec could not accept; null for a request the application may answer. */
    private static HttpResponseStatus refusal(HttpRequest request) {
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            Throwable cause = result.cause();
            return cause instanceof TooLongHttpHeaderException || cause instanceof TooLongHttpLineException
                    ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE : HttpResponseStatus.BAD_REQUEST;
        }
        if (request.protocolVersion().majorVersion() != 1) {
            return HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED;
        }
        return null;
    }

    /**
     * Answers the current request here, completely, with Connection: close; nothing the
     * application writes for it afterwards goes out.
     */
    void refuse(HttpResponseStatus status) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(status.reasonPhrase() + "\n", StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        HttpUtil.setKeepAlive(response, false);
        write(ctx, response, ctx.newPromise());
        ctx.flush();
    }

    boolean responseHeadOut() {
        return responseHeadOut;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelQuietCheck();
        if (!unanswered.isEmpty()) {
            tally.requestsAbandoned(unanswered.size());
            unanswered.clear();
        }
        ctx.fireChannelInactive();
    }

    // ---- outbound ----------------------------------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (goodbyeSaid) {
            // The goodbye response was the last: a late write for a request we refused stays here.
            ReferenceCountUtil.release(msg);
            promise.tryFailure(new ClosedChannelException());
            return;
        }
        if (msg instanceof HttpResponse response) {
            if (response.status().code() == 101) {
                switchingProtocols = true;
                responseHeadOut = true;
            } else if (response.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
                responseStarts(response);
            }
        }
        boolean last = msg instanceof LastHttpContent && responseHeadOut;
        ctx.write(msg, promise);
        if (last) {
            // Written is enough: Grace sends no FIN, for a goodbye or for idleness, before every
            // write reached the kernel, and a write that fails aborts the connection.
            responseHeadOut = false;
            lastResponseWrittenNanos = ctx.executor().ticker().nanoTime();
            responseFinished();
        }
    }

    private void responseStarts(HttpResponse response) {
        responseHeadOut = true;
        int flags = unanswered.isEmpty() ? 0 : unanswered.peek();
        boolean clientAsked = (flags & CLOSE_AFTER) != 0;
        boolean lastBeforeDrainEnds = draining && queued.isEmpty() && !input.partial() && unanswered.size() <= 1;
        boolean delimited = HttpUtil.isContentLengthSet(response) || HttpUtil.isTransferEncodingChunked(response)
                || !mayHaveBody(response);
        if (!delimited && response instanceof FullHttpResponse full) {
            HttpUtil.setContentLength(full, full.content().readableBytes());
            delimited = true;
        }
        if (clientAsked || lastBeforeDrainEnds || !delimited || !HttpUtil.isKeepAlive(response)) {
            if (draining) {
                tally.goodbyeSaid();
            }
            HttpUtil.setKeepAlive(response, false);
            closeAfterResponse = true;
        } else if ((flags & HTTP_1_0) != 0) {
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }

    private static boolean mayHaveBody(HttpResponse response) {
        int code = response.status().code();
        return code != 204 && code != 304 && response.status().codeClass() != HttpStatusClass.INFORMATIONAL;
    }

    private void responseFinished() {
        unanswered.poll();
        answering = false;
        tally.requestFinished();
        if (switchingProtocols) {
            return;
        }
        if (closeAfterResponse) {
            goodbyeSaid = true;
            releaseQueued();
            // Grace makes this graceful: FIN once the response reached the kernel, input after it discarded.
            ctx.close();
            return;
        }
        if (!queued.isEmpty()) {
            // Not from inside the application's write: its handler must finish with this request first.
            ctx.executor().execute(deliverQueued);
            return;
        }
        resumeReading();
        if (unanswered.isEmpty()) {
            if (draining) {
                checkQuiet();
            } else {
                connection.markIdle();
            }
        }
    }

    /** What is left of the request the application has, then the next request, with what came of it so far. */
    private void deliverQueued() {
        while (!queued.isEmpty() && !goodbyeSaid) {
            if (queued.peek() instanceof HttpRequest && answering) {
                return;
            }
            deliver(queued.poll());
        }
        if (queued.isEmpty() && !goodbyeSaid) {
            resumeReading();
            if (unanswered.isEmpty() && draining) {
                checkQuiet();
            }
        }
    }

    private void releaseQueued() {
        for (Object msg : queued) {
            if (msg instanceof HttpRequest) {
                tally.discardedAfterGoodbye();
                tally.requestsAbandoned(1);
                unanswered.pollLast();
            }
            ReferenceCountUtil.release(msg);
        }
        queued.clear();
    }

    /** Bounded: no more reads until the application has caught up. */
    private void pauseReading() {
        if (!readingPaused) {
            readingPaused = true;
            ctx.channel().config().setAutoRead(false);
        }
    }

    private void resumeReading() {
        if (readingPaused) {
            readingPaused = false;
            ctx.channel().config().setAutoRead(true);
        }
    }

    // ---- drain -------------------------------------------------------------------------------

    /** The server is draining; on the connection's event loop. */
    void goodbye(Duration timeLeft) {
        if (draining || goodbyeSaid) {
            return;
        }
        draining = true;
        drainDeadlineNanos = ctx.executor().ticker().nanoTime() + timeLeft.toNanos();
        connection.markBusy();
        if (unanswered.isEmpty()) {
            checkQuiet();
        }
        // Otherwise the response in flight says goodbye or, if its head is already out, the next one,
        // or the quiet rule once it is finished.
    }

    /**
     * Idle once nothing is in flight, no partial request is held, and for the quiet period the
     * client sent nothing and nothing of ours was still leaving (a keep-alive client sends its next
     * request the moment our last response arrives).
     */
    private void checkQuiet() {
        cancelQuietCheck();
        if (!unanswered.isEmpty() || goodbyeSaid) {
            return;
        }
        long now = ctx.executor().ticker().nanoTime();
        ChannelOutboundBuffer outbound = ctx.channel().unsafe().outboundBuffer();
        if (outbound != null && outbound.totalPendingWriteBytes() > 0) {
            lastResponseWrittenNanos = now;
        }
        long quietNanos = now - Math.max(input.lastInputNanos(), lastResponseWrittenNanos);
        if (quietNanos >= QUIET_NANOS && !input.partial()) {
            // Counted now, before Grace's close completes the drain; taken back if a request still comes.
            countedClosedIdle = true;
            tally.closedIdle(1);
            connection.markIdle();
            return;
        }
        long waitNanos = input.partial() ? QUIET_NANOS : QUIET_NANOS - quietNanos;
        quietCheck = ctx.executor().schedule(this::checkQuiet, waitNanos, TimeUnit.NANOSECONDS);
    }

    private void cancelQuietCheck() {
        if (quietCheck != null) {
            quietCheck.cancel(false);
            quietCheck = null;
        }
    }
}
