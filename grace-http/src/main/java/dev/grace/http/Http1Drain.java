package dev.grace.http;

import dev.grace.Connection;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 connection's requests, between the codec and the application: busy from a
 * request to the last byte of its response (once written, Grace sees it to the kernel before any FIN); pipelined requests handed to the application one at
 * a time, so they are answered in order; a malformed request answered here (400, 431, 505) and
 * the connection closed gracefully after the answer.
 *
 * <p>On drain the response in flight, or the next one, carries {@code Connection: close} (the
 * last of the requests already received, when several are pipelined) and the connection closes
 * gracefully after it. A connection with nothing in flight is idle once nothing arrived for
 * {@link HttpProtocol#QUIET_MILLIS} and the codec holds no partial request: then Grace sends
 * the FIN. A client that keeps sending therefore learns of the drain from a response, never
 * from a FIN racing its next request. Confined to the connection's event loop.
 */
final class Http1Drain extends ChannelDuplexHandler {
    static final String NAME = "grace-http1";
    private static final long QUIET_NANOS = TimeUnit.MILLISECONDS.toNanos(HttpProtocol.QUIET_MILLIS);

    private final Connection connection;
    private final HttpTally tally;
    private final InputWatch input;
    private final HttpProtocol.ConnectionRequests requests;
    /** Objects of requests behind the one the application is answering. */
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    /** For each request received and not yet answered, in order: whether it asked to close after. */
    private final ArrayDeque<Boolean> unanswered = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private boolean answering;
    private boolean responseHeadOut;
    private boolean closeAfterResponse;
    private boolean goodbyeSaid;
    private boolean switchingProtocols;
    private boolean draining;
    private boolean drainGoodbye;
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
    }

    boolean draining() {
        return draining;
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
            // Bounded: no more reads until the application has caught up.
            ctx.channel().config().setAutoRead(false);
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
        unanswered.add(!HttpUtil.isKeepAlive(request));
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
        }
        ctx.fireChannelRead(msg);
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

    /** Answered here, completely, with Connection: close; the codec discards what follows. */
    private void refuse(HttpResponseStatus status) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(status.reasonPhrase() + "\n", StandardCharsets.US_ASCII));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=us-ascii");
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        HttpUtil.setKeepAlive(response, false);
        write(ctx, response, ctx.newPromise());
        ctx.flush();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelQuietCheck();
        if (!unanswered.isEmpty()) {
            tally.requestsAbandoned(unanswered.size());
            unanswered.clear();
        }
        queued.forEach(ReferenceCountUtil::release);
        queued.clear();
        ctx.fireChannelInactive();
    }

    // ---- outbound ----------------------------------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse response && response.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
            responseStarts(response);
        } else if (msg instanceof HttpResponse response && response.status().code() == 101) {
            switchingProtocols = true;
            responseHeadOut = true;
        }
        boolean last = msg instanceof LastHttpContent && responseHeadOut;
        ctx.write(msg, promise);
        if (last) {
            // Written is enough: Grace sends no FIN, for a goodbye or for idleness, before every
            // write reached the kernel, and a write that fails aborts the connection.
            responseHeadOut = false;
            responseFinished();
        }
    }

    private void responseStarts(HttpResponse response) {
        responseHeadOut = true;
        boolean clientAsked = Boolean.TRUE.equals(unanswered.peek());
        boolean lastBeforeDrainEnds = draining && queued.isEmpty() && !input.partial() && unanswered.size() <= 1;
        if (clientAsked || lastBeforeDrainEnds || !HttpUtil.isKeepAlive(response) || !selfDelimited(response)) {
            if (draining) {
                drainGoodbye = true;
                tally.goodbyeSaid();
            }
            HttpUtil.setKeepAlive(response, false);
            closeAfterResponse = true;
        }
    }

    /** The client can tell where the body ends without our FIN. */
    private static boolean selfDelimited(HttpResponse response) {
        int code = response.status().code();
        return HttpUtil.isContentLengthSet(response) || HttpUtil.isTransferEncodingChunked(response)
                || code == 204 || code == 304 || response instanceof FullHttpResponse;
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
            deliverQueued();
            return;
        }
        ctx.channel().config().setAutoRead(true);
        if (unanswered.isEmpty()) {
            if (draining) {
                checkQuiet();
            } else {
                connection.markIdle();
            }
        }
    }

    /** Hands the application the next queued request with what came of it so far. */
    private void deliverQueued() {
        boolean first = true;
        while (!queued.isEmpty() && (first || !(queued.peek() instanceof HttpRequest))) {
            first = false;
            deliver(queued.poll());
            if (goodbyeSaid) {
                return;
            }
        }
        if (queued.isEmpty()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void releaseQueued() {
        for (Object msg : queued) {
            if (msg instanceof HttpRequest) {
                tally.discardedAfterGoodbye();
                tally.requestsAbandoned(1);
                unanswered.poll();
            }
            ReferenceCountUtil.release(msg);
        }
        queued.clear();
    }

    // ---- drain -------------------------------------------------------------------------------

    /** The server is draining; on the connection's event loop. */
    void goodbye() {
        if (draining || goodbyeSaid) {
            return;
        }
        draining = true;
        connection.markBusy();
        if (unanswered.isEmpty()) {
            checkQuiet();
        }
        // Otherwise the response in flight says goodbye or, if its head is already out, the next one,
        // or the quiet rule once it is finished.
    }

    /** Idle once nothing is in flight, no partial request is held and the client has been quiet long enough. */
    private void checkQuiet() {
        cancelQuietCheck();
        if (!unanswered.isEmpty() || goodbyeSaid) {
            return;
        }
        long quietNanos = ctx.executor().ticker().nanoTime() - input.lastInputNanos();
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
