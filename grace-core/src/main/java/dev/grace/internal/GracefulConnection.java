package dev.grace.internal;

import dev.grace.CloseMode;
import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.ConnectionState;
import dev.grace.Delivery;
import dev.grace.Outcome;
import dev.grace.Side;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of one connection as a state machine (see {@link ConnectionState}), installed first
 * in the pipeline so it sees every byte in and out and every transport event before the
 * protocol does. It counts bytes, turns {@code channel.close()} into a graceful close, tells
 * resets from FINs, keeps every deadline as a timer on the event loop, and delivers exactly one
 * {@link CloseReport} when the socket is closed.
 *
 * <p>All state is confined to the channel's event loop; public methods hop onto it. The few
 * fields other threads read are volatile.
 */
public final class GracefulConnection extends ChannelDuplexHandler implements Connection {
    public static final String HANDLER_NAME = "grace";

    private static final Logger log = LoggerFactory.getLogger(GracefulConnection.class);
    private static final long FIRST_DELIVERY_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long MAX_DELIVERY_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(64);
    private static final long FRUITLESS_READ_PASS_MAX_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(16);

    private final ConnectionOptions options;
    private final ConnectionListener listener;
    private final CompletableFuture<CloseReport> closeFuture = new CompletableFuture<>();
    private final CompletableFuture<Void> finSentFuture = new CompletableFuture<>();

    private ChannelHandlerContext ctx;
    private Channel channel;
    private TcpInfo tcpInfo;

    private volatile ConnectionState state = ConnectionState.OPEN;
    private volatile long bytesIn;
    private final WriteLedger writes;
    private volatile boolean busy;

    private boolean opened;
    private long openedAtNanos;
    private long lastActivityNanos;
    private SocketAddress localAddress;
    private SocketAddress remoteAddress;

    private long discardedInbound;

    private boolean inputShut;
    private boolean outputShut;
    private boolean halfCloseRequested;
    private CloseMode closingMode;
    private boolean socketClosing;
    private boolean releasedWithReset;
    private boolean releaseRefused;
    private boolean shuttingOutput;
    private boolean repairQueued;
    private Side firstCloser = Side.NONE;
    private Side firstFin = Side.NONE;
    private Outcome decidedOutcome;
    private Throwable cause;
    private boolean finAcknowledgedAtClose;
    private long unackedSegmentsAtClose = -1;

    private ScheduledFuture<?> deadlineTimer;
    private long closeDeadlineNanos = Long.MAX_VALUE;
    private ScheduledFuture<?> inactivityTimer;
    private ScheduledFuture<?> deliveryPoll;
    private long deliveryPollNanos = FIRST_DELIVERY_POLL_NANOS;
    private boolean closeWhenIdle;
    private boolean readPassPending;
    private long fruitlessReadPassDelayNanos = 1;
    private long idleCloseDeadlineNanos;

    // The close path's callbacks, made with the connection: a JVM's first closes then link no
    // call site (each cost about a millisecond on a cold JVM, in the first drain's FINs).
    private final Runnable sendFinTask = this::sendFin;
    private final Runnable finishTask = this::finish;
    private final Runnable deadlinePassed = () -> abort(Outcome.ABORTED_AT_DEADLINE);
    private final ChannelFutureListener outputShutDown = this::outputShutDown;

    private GracefulConnection(Channel channel, ConnectionOptions options, ConnectionListener listener) {
        this.channel = channel;
        this.options = options;
        this.listener = listener;
        this.writes = new WriteLedger(new WriteLedger.Outcomes() {
            @Override
            public void written(long bytes) {
                writeSucceeded();
            }

            @Override
            public void failed(Throwable cause) {
                writeFailed(cause);
            }
        }, task -> channel.eventLoop().execute(task));
    }

    /** Adds a connection first in {@code channel}'s pipeline. */
    public static GracefulConnection install(Channel channel, ConnectionOptions options, ConnectionListener listener) {
        if (channel.pipeline().get(HANDLER_NAME) != null) {
            throw new IllegalStateException("Grace is already installed on " + channel);
        }
        GracefulConnection connection = new GracefulConnection(channel, options, listener);
        channel.pipeline().addFirst(HANDLER_NAME, connection);
        return connection;
    }

    // ---- Connection ------------------------------------------------------------------------

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public ConnectionState state() {
        return state;
    }

    @Override
    public long bytesIn() {
        return bytesIn;
    }

    @Override
    public long bytesOut() {
        return writes.written();
    }

    @Override
    public CompletableFuture<CloseReport> closeFuture() {
        return closeFuture;
    }

    @Override
    public CompletableFuture<Void> shutdownOutput() {
        onEventLoop(this::halfClose);
        return finSentFuture;
    }

    @Override
    public CompletableFuture<CloseReport> closeGracefully(Duration deadline) {
        onEventLoop(() -> beginClose(CloseMode.GRACEFUL, deadline));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> lingerClose(Duration deadline) {
        onEventLoop(() -> beginClose(CloseMode.LINGER, deadline));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> abort() {
        onEventLoop(() -> abort(Outcome.ABORTED));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> abortOnceDelivered(Duration deadline) {
        onEventLoop(() -> {
            if (state == ConnectionState.CLOSED || socketClosing) {
                return;
            }
            armDeadline(System.nanoTime() + deadline.toNanos());
            channel.flush();
            writes.whenFlushed(this::abortWhenQueueEmpty);
        });
        return closeFuture;
    }

    private void abortWhenQueueEmpty() {
        if (socketClosing || state == ConnectionState.CLOSED) {
            return;
        }
        if (tcpInfo != null && KernelSendQueue.unacknowledgedBytes(localAddress, remoteAddress) > 0) {
            pollFinAcknowledged(this::abortWhenQueueEmpty);
            return;
        }
        abort(Outcome.ABORTED);
    }

    /** Aborts because a deadline the caller owns (a drain's) passed. */
    public CompletableFuture<CloseReport> abortAtDeadline() {
        onEventLoop(() -> abort(Outcome.ABORTED_AT_DEADLINE));
        return closeFuture;
    }

    // markBusy, markIdle and closeWhenIdle are called on the event loop by protocols, on every
    // read; they make no task there. Elsewhere they go through it, so they land in call order.

    @Override
    public void markBusy() {
        if (inEventLoop()) {
            busy = true;
        } else {
            channel.eventLoop().execute(() -> busy = true);
        }
    }

    @Override
    public void markIdle() {
        if (inEventLoop()) {
            becameIdle();
        } else {
            channel.eventLoop().execute(this::becameIdle);
        }
    }

    private void becameIdle() {
        busy = false;
        closeIfIdle();
    }

    @Override
    public boolean isIdle() {
        return !busy;
    }

    /**
     * For a drain: close gracefully once the protocol is idle, its writes reached the kernel and
     * nothing it has not seen waits in the kernel's receive queue. A request the kernel already
     * acknowledged must not be discarded behind our FIN, so input found there first goes to the
     * protocol (one more read), which makes the connection busy again, and the check runs again
     * once it is idle. The FIN goes out in the same event-loop task as the last check.
     */
    public void closeWhenIdle(long deadlineNanos) {
        if (inEventLoop()) {
            closeWhenIdleBy(deadlineNanos);
        } else {
            channel.eventLoop().execute(() -> closeWhenIdleBy(deadlineNanos));
        }
    }

    private void closeWhenIdleBy(long deadlineNanos) {
        idleCloseDeadlineNanos = deadlineNanos;
        closeWhenIdle = true;
        closeIfIdle();
    }

    private void closeIfIdle() {
        if (!closeWhenIdle || busy || readPassPending || socketClosing || state == ConnectionState.CLOSED || state.isClosing()) {
            return;
        }
        Duration left = Duration.ofNanos(Math.max(1, idleCloseDeadlineNanos - System.nanoTime()));
        if (outputShut) {
            // Our FIN is out: whatever arrives now, the peer sent after it could have seen it.
            beginClose(CloseMode.GRACEFUL, left);
            return;
        }
        if (writes.inFlight()) {
            channel.flush();
            writes.whenFlushed(this::closeIfIdle);
            return;
        }
        long unread = unreadInputBytes();
        if (unread == 0) {
            beginClose(CloseMode.GRACEFUL, left);
            return;
        }
        // Unread input, or the transport cannot tell: one more read pass. A task scheduled from a
        // task runs only after the event loop's next I/O pass, and that pass reads whatever the
        // kernel holds; execute() first, so this holds when called from an I/O callback too.
        readPassPending = true;
        long bytesInBefore = bytesIn;
        boolean inputShutBefore = inputShut;
        channel.read();
        // Should the kernel keep reporting input no read delivers, look again less and less often.
        long delayNanos = Math.min(FRUITLESS_READ_PASS_MAX_DELAY_NANOS, fruitlessReadPassDelayNanos);
        channel.eventLoop().execute(() -> channel.eventLoop().schedule(() -> {
            readPassPending = false;
            boolean nothingCame = bytesIn == bytesInBefore && inputShut == inputShutBefore;
            fruitlessReadPassDelayNanos = nothingCame ? Math.max(1, 2 * fruitlessReadPassDelayNanos) : 1;
            if (unread < 0 && nothingCame && !busy && !socketClosing && !state.isClosing()
                    && state != ConnectionState.CLOSED && !writes.inFlight()) {
                beginClose(CloseMode.GRACEFUL, Duration.ofNanos(Math.max(1, idleCloseDeadlineNanos - System.nanoTime())));
            } else {
                closeIfIdle();
            }
        }, delayNanos, TimeUnit.NANOSECONDS));
    }

    /** Bytes in the kernel's receive queue Grace has not read yet, or -1 where the transport cannot tell. */
    private long unreadInputBytes() {
        if (tcpInfo == null) {
            return -1;
        }
        long received = LinuxSockets.bytesReceived(channel);
        if (received < 0) {
            return -1;
        }
        // The kernel counts the peer's FIN as one byte received.
        return Math.max(0, received - bytesIn - (inputShut ? 1 : 0));
    }

    // ---- inbound ---------------------------------------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.tcpInfo = TcpInfo.of(channel);
        channel.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        // Netty fires channelInactive only for a channel that was active: a channel closed while
        // still connecting would otherwise never get its report.
        channel.closeFuture().addListener(f -> channel.eventLoop().execute(finishTask));
        if (channel.isActive()) {
            opened();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (state != ConnectionState.CLOSED) {
            cause = new IllegalStateException("Grace was removed from the pipeline of an open channel");
            finish();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        opened();
        ctx.fireChannelActive();
    }

    private void opened() {
        if (opened) {
            return;
        }
        opened = true;
        openedAtNanos = System.nanoTime();
        lastActivityNanos = openedAtNanos;
        localAddress = channel.localAddress();
        remoteAddress = channel.remoteAddress();
        armInactivityTimer();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        long n = msg instanceof ByteBuf buf ? buf.readableBytes() : msg instanceof ByteBufHolder holder ? holder.content().readableBytes() : 0;
        bytesIn += n;
        lastActivityNanos = System.nanoTime();
        if (state.isClosing() || state == ConnectionState.CLOSED) {
            discardedInbound += n;
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!state.isClosing() && state != ConnectionState.CLOSED) {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            ConnectionState before = state;
            if (inputShutdown() && (before == ConnectionState.OPEN || before == ConnectionState.FIN_SENT)) {
                ctx.fireUserEventTriggered(event);
            }
            peerFinArrived();
            return;
        }
        if (event == ChannelInputShutdownReadComplete.INSTANCE && (state.isClosing() || state == ConnectionState.CLOSED)) {
            return;
        }
        if (event instanceof ChannelOutputShutdownEvent && !shuttingOutput && !outputShut && !socketClosing) {
            // Someone sent FIN behind Grace's back, without waiting for pending writes: whatever
            // they failed is lost, so the end cannot be clean.
            fail(new IllegalStateException("output shut down outside Grace"));
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable failure) {
        if (state == ConnectionState.CLOSED || socketClosing) {
            return;
        }
        // Grace is first in the pipeline: what reaches it comes from the transport. A failed read
        // is followed by an input shutdown that must not pass for the peer's FIN.
        if (Resets.isPeerReset(failure)) {
            peerReset(failure);
        } else {
            fail(failure);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish();
        ctx.fireChannelInactive();
    }

    /** Returns true when the input shutdown was the peer's FIN (not a reset, not a repeat). */
    private boolean inputShutdown() {
        if (inputShut || socketClosing || state == ConnectionState.CLOSED) {
            return false;
        }
        // A reset arrives as input shutdown too; on epoll the kernel state tells it apart from a
        // FIN even when no exception reached us (only while our own FIN is unsent: after it, a
        // FIN also leaves the socket in CLOSE).
        if (!outputShut && tcpInfo != null && tcpInfo.state() == TcpInfo.CLOSE) {
            peerReset(new IOException("Connection reset by peer (TCP state CLOSE at input shutdown)"));
            return false;
        }
        inputShut = true;
        lastActivityNanos = System.nanoTime();
        peerFinOnTheWire();
        if (state == ConnectionState.OPEN) {
            setState(ConnectionState.PEER_FIN_RECEIVED);
            armInactivityTimer();
        }
        return true;
    }

    private void peerFinOnTheWire() {
        if (firstFin == Side.NONE) {
            firstFin = Side.PEER;
        }
        if (firstCloser == Side.NONE) {
            firstCloser = Side.PEER;
        }
    }

    private void peerFinArrived() {
        if (!inputShut || socketClosing) {
            return;
        }
        if (state == ConnectionState.FIN_SENT) {
            closeCleanly();
        } else if (state == ConnectionState.LINGERING) {
            lingerStep();
        }
    }

    // ---- outbound --------------------------------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        repairEpollRegistration();
        ctx.write(msg, writes.track(msg, promise));
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        repairEpollRegistration();
        ctx.read();
    }

    /** See {@link EpollRegistrationRepair}: only after the peer's FIN can the interest set empty. */
    private void repairEpollRegistration() {
        if (inputShut && tcpInfo != null) {
            EpollRegistrationRepair.repair(channel);
        }
    }

    private void repairEpollRegistrationSoon() {
        if (inputShut && tcpInfo != null && !repairQueued) {
            repairQueued = true;
            channel.eventLoop().execute(() -> {
                repairQueued = false;
                EpollRegistrationRepair.repair(channel);
            });
        }
    }

    /** The application's {@code close()} becomes a graceful close bounded by the close timeout. */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        beginClose(CloseMode.GRACEFUL, options.closeTimeout());
        closeFuture.whenComplete((report, failure) -> promise.trySuccess());
    }

    private void writeSucceeded() {
        lastActivityNanos = System.nanoTime();
        repairEpollRegistrationSoon();
    }

    private void writeFailed(Throwable failure) {
        if (socketClosing || state == ConnectionState.CLOSED) {
            return;
        }
        if (Resets.isPeerReset(failure)) {
            peerReset(failure);
        } else if (!(failure instanceof CancellationException)) {
            // Including a write refused after our FIN: the peer was owed those bytes, so it
            // must not be left with a clean end of stream.
            fail(failure);
        }
    }

    // ---- closing ---------------------------------------------------------------------------

    private void halfClose() {
        if (halfCloseRequested || outputShut || socketClosing || state == ConnectionState.CLOSED) {
            return;
        }
        halfCloseRequested = true;
        channel.flush();
        writes.whenFlushed(sendFinTask);
    }

    private void beginClose(CloseMode mode, Duration timeout) {
        if (state == ConnectionState.CLOSED || socketClosing) {
            return;
        }
        long deadlineNanos = System.nanoTime() + timeout.toNanos();
        if (state.isClosing()) {
            armDeadline(deadlineNanos);
            return;
        }
        closingMode = mode;
        armDeadline(deadlineNanos);
        cancel(inactivityTimer);
        // Lingering close reads (and discards) until the peer's FIN, whatever the protocol's
        // read policy was: unread input at close() is what makes the kernel send RST.
        channel.config().setAutoRead(true);
        if (outputShut) {
            setState(ConnectionState.LINGERING);
            lingerStep();
            return;
        }
        setState(ConnectionState.FLUSHING);
        channel.flush();
        writes.whenFlushed(sendFinTask);
    }

    /**
     * Sends FIN once every write reached the kernel. Netty's shutdownOutput() fails writes still
     * queued and then sends a clean FIN, so calling it any earlier truncates the stream silently.
     */
    private void sendFin() {
        if (outputShut || socketClosing || state == ConnectionState.CLOSED) {
            return;
        }
        if (writes.inFlight()) {
            channel.flush();
            writes.whenFlushed(sendFinTask);
            return;
        }
        if (options.releaseWithReset() && inputShut && !releaseRefused) {
            releaseWithReset();
            return;
        }
        if (!inputShut && tcpInfo != null && tcpInfo.state() == TcpInfo.CLOSE_WAIT) {
            // The peer's FIN is already in our kernel, not yet read: it went first on the wire,
            // and its sender, not us, will hold TIME_WAIT.
            peerFinOnTheWire();
        }
        shuttingOutput = true;
        ((DuplexChannel) channel).shutdownOutput().addListener(outputShutDown);
    }

    private void outputShutDown(ChannelFuture f) {
        shuttingOutput = false;
        if (!f.isSuccess()) {
            // An RST waiting unread makes shutdown(SHUT_WR) fail with ENOTCONN on epoll
            // (Netty: NotYetConnectedException); the JDK ignores it.
            boolean resetWaiting = f.cause() instanceof NotYetConnectedException
                    || (tcpInfo != null && tcpInfo.state() == TcpInfo.CLOSE);
            if (resetWaiting || Resets.isPeerReset(f.cause())) {
                peerReset(f.cause());
            } else {
                fail(f.cause());
            }
            return;
        }
        outputShut = true;
        if (firstFin == Side.NONE) {
            firstFin = Side.LOCAL;
        }
        if (firstCloser == Side.NONE) {
            firstCloser = Side.LOCAL;
        }
        finSent();
    }

    private void finSent() {
        // The half-close future completes once the state says FIN_SENT, before any close.
        if (state == ConnectionState.OPEN) {
            setState(ConnectionState.FIN_SENT);
            armInactivityTimer();
        }
        finSentFuture.complete(null);
        if (state == ConnectionState.PEER_FIN_RECEIVED) {
            closeCleanly();
        } else if (state == ConnectionState.FLUSHING) {
            setState(ConnectionState.LINGERING);
            lingerStep();
        }
    }

    /** In LINGERING: close once the peer's FIN arrived (graceful) and, where asked, delivery is confirmed. */
    private void lingerStep() {
        if (state != ConnectionState.LINGERING || socketClosing) {
            return;
        }
        if (closingMode == CloseMode.GRACEFUL && !inputShut) {
            return;
        }
        if (mustConfirmDelivery() && !tcpInfo.finAcknowledged()) {
            pollFinAcknowledged(this::lingerStep);
            return;
        }
        closeCleanly();
    }

    /**
     * The peer finished first and we have nothing more to send: RST instead of FIN, once the
     * peer acknowledged every byte, so no TIME_WAIT is left on either side. Only where the
     * kernel's send queue can be read (epoll on Linux); elsewhere, and whenever it cannot be
     * told, the usual FIN.
     */
    private void releaseWithReset() {
        if (socketClosing || state == ConnectionState.CLOSED) {
            return;
        }
        long unacknowledged = tcpInfo == null ? -1 : KernelSendQueue.unacknowledgedBytes(localAddress, remoteAddress);
        if (unacknowledged < 0) {
            releaseRefused = true;
            sendFin();
            return;
        }
        if (unacknowledged > 0) {
            armDeadline(System.nanoTime() + options.closeTimeout().toNanos());
            pollFinAcknowledged(this::releaseWithReset);
            return;
        }
        if (decidedOutcome == null) {
            decidedOutcome = Outcome.RELEASED_WITH_RESET;
        }
        releasedWithReset = true;
        setLingerZero();
        closeSocket();
    }

    /** The kernel has no event for "our FIN was acknowledged": ask it again soon, backing off. */
    private void pollFinAcknowledged(Runnable next) {
        if (deliveryPoll == null) {
            deliveryPoll = channel.eventLoop().schedule(() -> {
                deliveryPoll = null;
                next.run();
            }, deliveryPollNanos, TimeUnit.NANOSECONDS);
            deliveryPollNanos = Math.min(2 * deliveryPollNanos, MAX_DELIVERY_POLL_NANOS);
        }
    }

    private boolean mustConfirmDelivery() {
        return tcpInfo != null && (closingMode == CloseMode.LINGER || options.confirmDelivery());
    }

    private void closeCleanly() {
        if (socketClosing) {
            return;
        }
        if (decidedOutcome == null) {
            decidedOutcome = inputShut ? Outcome.FIN_BOTH_WAYS : Outcome.FIN_SENT;
        }
        closeSocket();
    }

    private void abort(Outcome outcome) {
        if (state == ConnectionState.CLOSED || socketClosing) {
            return;
        }
        if (decidedOutcome == null) {
            decidedOutcome = outcome;
        }
        if (firstCloser == Side.NONE) {
            firstCloser = Side.LOCAL;
        }
        setLingerZero();
        closeSocket();
    }

    /** SO_LINGER 0: the next close() sends RST and leaves no TIME_WAIT. */
    private void setLingerZero() {
        try {
            channel.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
            log.debug("SO_LINGER 0 failed on {}: {}", channel, e.toString());
        }
    }

    private void peerReset(Throwable failure) {
        if (state == ConnectionState.CLOSED || socketClosing) {
            return;
        }
        log.debug("{} reset by peer: {}", channel, failure.toString());
        if (decidedOutcome == null) {
            decidedOutcome = Outcome.PEER_RESET;
            cause = failure;
        }
        if (firstCloser == Side.NONE) {
            firstCloser = Side.PEER;
        }
        // The connection is already gone: close() sends nothing more.
        closeSocket();
    }

    /** A local failure may have lost bytes either side was owed, so the peer must see RST. */
    private void fail(Throwable failure) {
        if (state == ConnectionState.CLOSED || socketClosing) {
            return;
        }
        log.debug("{} failed: {}", channel, failure.toString());
        if (decidedOutcome == null) {
            decidedOutcome = Outcome.ERROR;
            cause = failure;
        }
        abort(Outcome.ERROR);
    }

    private void closeSocket() {
        if (socketClosing) {
            return;
        }
        socketClosing = true;
        if (tcpInfo != null) {
            finAcknowledgedAtClose = outputShut ? tcpInfo.finAcknowledged() : releasedWithReset;
            unackedSegmentsAtClose = tcpInfo.unackedSegments();
        }
        ctx.close();
    }

    /** The one place a connection becomes CLOSED and its report is delivered. */
    private void finish() {
        if (state == ConnectionState.CLOSED) {
            return;
        }
        cancel(deadlineTimer);
        cancel(inactivityTimer);
        cancel(deliveryPoll);
        if (!opened) {
            opened();
        }
        Outcome outcome = decidedOutcome;
        if (outcome == null) {
            // Closed underneath Grace (the transport failed, or the event loop shut down).
            outcome = inputShut && outputShut ? Outcome.FIN_BOTH_WAYS : Outcome.ERROR;
            if (cause == null && outcome == Outcome.ERROR) {
                cause = new ClosedChannelException();
            }
        }
        if (firstCloser == Side.NONE) {
            firstCloser = outcome == Outcome.PEER_RESET ? Side.PEER : Side.LOCAL;
        }
        Delivery delivery;
        if (!outcome.isClean()) {
            delivery = Delivery.NOT_GUARANTEED;
        } else if (finAcknowledgedAtClose) {
            delivery = Delivery.CONFIRMED;
        } else {
            delivery = Delivery.FLUSHED_TO_KERNEL;
        }
        CloseReport report = new CloseReport(
                localAddress,
                remoteAddress,
                outcome,
                firstCloser,
                outcome.isClean() && !releasedWithReset ? firstFin : Side.NONE,
                delivery,
                bytesIn,
                writes.written(),
                writes.unsent(),
                discardedInbound,
                unackedSegmentsAtClose,
                Duration.ofNanos(System.nanoTime() - openedAtNanos),
                cause);
        try {
            setState(ConnectionState.CLOSED);
            if (!finSentFuture.isDone()) {
                // Most connections sent their FIN: no exception (and stack trace) for them.
                finSentFuture.completeExceptionally(new ClosedChannelException());
            }
            listener.closed(this, report);
        } catch (Throwable t) {
            log.warn("connection listener failed on close of {}", channel, t);
        } finally {
            closeFuture.complete(report);
        }
    }

    // ---- timers ----------------------------------------------------------------------------

    /**
     * The one deadline rule: a connection's close deadline can only move earlier. Whoever asks
     * (a graceful close, a linger close, abort-once-delivered, a release with RST, a drain) gets
     * its deadline or the one already set, whichever comes first.
     */
    private void armDeadline(long deadlineNanos) {
        if (deadlineNanos >= closeDeadlineNanos) {
            return;
        }
        cancel(deadlineTimer);
        closeDeadlineNanos = deadlineNanos;
        long delay = Math.max(0, deadlineNanos - System.nanoTime());
        deadlineTimer = channel.eventLoop().schedule(deadlinePassed, delay, TimeUnit.NANOSECONDS);
    }

    /** The no-traffic limit of the current state: the idle timeout when open, the half-closed one after a FIN. */
    private long inactivityLimitNanos() {
        return switch (state) {
            case OPEN -> options.idleTimeout().toNanos();
            case PEER_FIN_RECEIVED, FIN_SENT -> options.halfClosedTimeout().toNanos();
            default -> 0;
        };
    }

    private void armInactivityTimer() {
        cancel(inactivityTimer);
        inactivityTimer = null;
        long limit = inactivityLimitNanos();
        if (limit > 0) {
            long remaining = limit - (System.nanoTime() - lastActivityNanos);
            inactivityTimer = channel.eventLoop().schedule(
                    this::inactivityTimerFired, Math.max(0, remaining), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * How long nothing moved on this connection: neither through Grace nor, where the transport
     * can tell (epoll), in the kernel, which keeps delivering bytes Grace handed it long ago.
     */
    public long idleNanos() {
        long idle = System.nanoTime() - lastActivityNanos;
        long kernelIdleMillis = tcpInfo == null ? -1 : tcpInfo.idleMillis();
        return kernelIdleMillis < 0 ? idle : Math.min(idle, TimeUnit.MILLISECONDS.toNanos(kernelIdleMillis));
    }

    private void inactivityTimerFired() {
        inactivityTimer = null;
        long limit = inactivityLimitNanos();
        if (limit == 0 || socketClosing) {
            return;
        }
        long idle = idleNanos();
        if (idle < limit) {
            inactivityTimer = channel.eventLoop().schedule(this::inactivityTimerFired, limit - idle, TimeUnit.NANOSECONDS);
        } else if (state == ConnectionState.OPEN) {
            log.debug("{} idle for {} ms, closing gracefully", channel, TimeUnit.NANOSECONDS.toMillis(idle));
            beginClose(CloseMode.GRACEFUL, options.closeTimeout());
        } else {
            log.debug("{} half-closed and silent for {} ms, aborting", channel, TimeUnit.NANOSECONDS.toMillis(idle));
            abort(Outcome.ABORTED_AT_DEADLINE);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------

    private void setState(ConnectionState to) {
        ConnectionState from = state;
        if (from == to) {
            return;
        }
        state = to;
        try {
            listener.stateChanged(this, from, to);
        } catch (Throwable t) {
            log.warn("connection listener failed on {} -> {} of {}", from, to, channel, t);
        }
    }

    private boolean inEventLoop() {
        if (channel == null) {
            throw new IllegalStateException("connection is not installed on a channel yet");
        }
        return channel.eventLoop().inEventLoop();
    }

    private void onEventLoop(Runnable task) {
        if (inEventLoop()) {
            task.run();
        } else {
            channel.eventLoop().execute(task);
        }
    }

    private static void cancel(ScheduledFuture<?> timer) {
        if (timer != null) {
            timer.cancel(false);
        }
    }

    @Override
    public String toString() {
        return "Connection[" + remoteAddress + " " + state + "]";
    }
}
