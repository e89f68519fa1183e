package dev.grace.internal;

import dev.grace.CloseMode;
import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.ConnectionState;
import dev.grace.Outcome;
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
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NotYetConnectedException;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection's Grace, first in its pipeline so it sees every byte in and out and every
 * transport event before the protocol does. It turns Netty's events into calls on the
 * connection's {@link CloseMachine}, carries out what the machine decides (flush, FIN, close,
 * RST) and keeps the counters the {@link CloseReport} needs; timers are {@link CloseTimers}, the
 * kernel's view is {@link DeliveryWatch}. All of it runs on the channel's event loop; the
 * {@link Connection} methods hop onto it.
 *
 * <p>Longer than most files here because it is the one adapter both ways between Netty and the
 * machine: the public {@link Connection} calls, the pipeline's events and the machine's
 * {@link CloseMachine.Io} decisions. It decides nothing itself.
 */
final class GracefulConnection extends ChannelDuplexHandler implements Connection, CloseMachine.Io {
    static final String HANDLER_NAME = "grace";

    private static final Logger log = LoggerFactory.getLogger(GracefulConnection.class);

    private final Channel channel;
    private final ConnectionListener listener;
    private final ConnectionOptions options;
    private final DeliveryWatch watch;
    private final CloseTimers timers;
    private final CloseMachine machine;
    private final WriteLedger writes;
    private final CompletableFuture<CloseReport> closeFuture = new CompletableFuture<>();
    private final CompletableFuture<Void> finSentFuture = new CompletableFuture<>();
    private ChannelHandlerContext ctx;

    private volatile long bytesIn;
    private long discardedInbound;
    private boolean opened;
    private long openedAtNanos;
    private SocketAddress localAddress;
    private SocketAddress remoteAddress;
    private boolean repairQueued;
    /** Our FIN went by {@link DirectFin}: Netty's channel would still take writes. */
    private boolean finSentDirectly;

    // Made with the connection: a JVM's first closes then link no call site (each cost about a
    // millisecond on a cold JVM, in the first drain's FINs).
    private final Runnable[] resumeTasks = new Runnable[CloseMachine.Step.values().length];
    private final Runnable finishTask = this::finish;
    private final Runnable readPassDone;
    private final ChannelFutureListener outputShutDown = this::outputShutDown;

    private GracefulConnection(Channel channel, ConnectionOptions options, ConnectionListener listener) {
        this.channel = channel;
        this.options = options;
        this.listener = listener;
        this.watch = new DeliveryWatch(channel);
        this.timers = new CloseTimers(channel, watch::kernelIdleNanos,
                () -> machine().closeDeadlinePassed(), () -> machine().inactive());
        this.machine = new CloseMachine(options, this, watch, timers::nanoTime);
        this.readPassDone = machine::readPassDone;
        for (CloseMachine.Step step : CloseMachine.Step.values()) {
            resumeTasks[step.ordinal()] = () -> machine.resume(step);
        }
        this.writes = new WriteLedger(new WriteLedger.Outcomes() {
            @Override
            public void written(long bytes) {
                timers.activity();
                repairEpollRegistrationSoon();
            }

            @Override
            public void failed(Throwable cause) {
                writeFailed(cause);
            }
        }, task -> channel.eventLoop().execute(task));
    }

    private CloseMachine machine() {
        return machine;
    }

    /** Adds a connection first in {@code channel}'s pipeline. */
    static GracefulConnection install(Channel channel, ConnectionOptions options, ConnectionListener listener) {
        if (channel.pipeline().get(HANDLER_NAME) != null) {
            throw new IllegalStateException("Grace is already installed on " + channel);
        }
        GracefulConnection connection = new GracefulConnection(channel, options, listener);
        channel.pipeline().addFirst(HANDLER_NAME, connection);
        return connection;
    }

    // ---- Connection --------------------------------------------------------------------------

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public ConnectionState state() {
        return machine.state();
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
        onEventLoop(machine::halfClose);
        return finSentFuture;
    }

    @Override
    public CompletableFuture<CloseReport> closeGracefully(Duration deadline) {
        onEventLoop(() -> machine.beginClose(CloseMode.GRACEFUL, timers.nanoTime() + deadline.toNanos()));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> lingerClose(Duration deadline) {
        onEventLoop(() -> machine.beginClose(CloseMode.LINGER, timers.nanoTime() + deadline.toNanos()));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> abort() {
        onEventLoop(() -> machine.abort(Outcome.ABORTED));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> abortOnceDelivered(Duration deadline) {
        onEventLoop(() -> machine.abortOnceDelivered(timers.nanoTime() + deadline.toNanos()));
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> abortAtDeadline() {
        onEventLoop(machine::closeDeadlinePassed);
        return closeFuture;
    }

    @Override
    public CompletableFuture<CloseReport> closeWhenIdle(Duration deadline) {
        // The time is read on the loop: the deadline counts from when the request is made there.
        // A drain calls this on the loop; there it makes no task (a first lambda on a cold JVM
        // would delay the first idle FIN).
        long nanos = deadline.toNanos();
        if (channel.eventLoop().inEventLoop()) {
            machine.closeWhenIdle(timers.nanoTime() + nanos);
        } else {
            channel.eventLoop().execute(() -> machine.closeWhenIdle(timers.nanoTime() + nanos));
        }
        return closeFuture;
    }

    @Override
    public long idleNanos() {
        return timers.idleNanos();
    }

    // markBusy and markIdle are called by protocols on every read, on the event loop: there they
    // make no task. Elsewhere they go through it, so they land in call order.

    @Override
    public void markBusy() {
        if (channel.eventLoop().inEventLoop()) {
            machine.markBusy();
        } else {
            channel.eventLoop().execute(machine::markBusy);
        }
    }

    @Override
    public void markIdle() {
        if (channel.eventLoop().inEventLoop()) {
            machine.markIdle();
        } else {
            channel.eventLoop().execute(machine::markIdle);
        }
    }

    @Override
    public void holdOpen(Duration window) {
        long nanos = window.toNanos();
        onEventLoop(() -> {
            long marks = machine.hold();
            channel.eventLoop().schedule(() -> machine.releaseHold(marks), nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        });
    }

    @Override
    public boolean isIdle() {
        return machine.isIdle();
    }

    // ---- inbound -----------------------------------------------------------------------------

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
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
        if (machine.state() != ConnectionState.CLOSED) {
            machine.causeIfNone(new IllegalStateException("Grace was removed from the pipeline of an open channel"));
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
        openedAtNanos = timers.nanoTime();
        timers.activity();
        localAddress = channel.localAddress();
        remoteAddress = channel.remoteAddress();
        watch.connected(localAddress, remoteAddress);
        timers.watchInactivity(machine.inactivityLimitNanos());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        long n = msg instanceof ByteBuf buf ? buf.readableBytes() : msg instanceof ByteBufHolder holder ? holder.content().readableBytes() : 0;
        bytesIn += n;
        timers.activity();
        if (machine.discardsInput()) {
            discardedInbound += n;
            ReferenceCountUtil.release(msg);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!machine.discardsInput()) {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
        if (event instanceof ChannelInputShutdownEvent) {
            ConnectionState before = machine.state();
            if (machine.inputShutdown()) {
                timers.activity();
                if (before == ConnectionState.OPEN || before == ConnectionState.FIN_SENT) {
                    ctx.fireUserEventTriggered(event);
                }
            }
            machine.peerFinArrived();
            return;
        }
        if (event == ChannelInputShutdownReadComplete.INSTANCE && machine.discardsInput()) {
            return;
        }
        if (event instanceof ChannelOutputShutdownEvent && machine.outputShutDownOutsideGrace()) {
            return;
        }
        ctx.fireUserEventTriggered(event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable failure) {
        // Grace is first in the pipeline: what reaches it comes from the transport. A failed read
        // is followed by an input shutdown that must not pass for the peer's FIN.
        if (Resets.isPeerReset(failure)) {
            machine.peerReset(failure);
        } else {
            machine.fail(failure);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish();
        ctx.fireChannelInactive();
    }

    // ---- outbound ----------------------------------------------------------------------------

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (finSentDirectly) {
            // Netty refuses a write after its own shutdownOutput() the same way; past our FIN
            // the bytes can never reach the peer.
            ChannelPromise refused = writes.track(msg, promise);
            ReferenceCountUtil.release(msg);
            refused.setFailure(new ClosedChannelException());
            return;
        }
        repairEpollRegistration();
        ctx.write(msg, writes.track(msg, promise));
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        repairEpollRegistration();
        ctx.read();
    }

    /** The application's {@code close()} becomes a graceful close bounded by the close timeout. */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        machine.beginClose(CloseMode.GRACEFUL, timers.nanoTime() + options.closeTimeout().toNanos());
        closeFuture.whenComplete((report, failure) -> promise.trySuccess());
    }

    private void writeFailed(Throwable failure) {
        if (Resets.isPeerReset(failure)) {
            machine.peerReset(failure);
        } else if (!(failure instanceof CancellationException)) {
            // Including a write refused after our FIN: the peer was owed those bytes.
            machine.fail(failure);
        }
    }

    /** See {@link EpollRegistrationRepair}: only after the peer's FIN can the interest set empty. */
    private void repairEpollRegistration() {
        if (machine.inputShut() && watch.available()) {
            EpollRegistrationRepair.repair(channel);
        }
    }

    private void repairEpollRegistrationSoon() {
        if (machine.inputShut() && watch.available() && !repairQueued) {
            repairQueued = true;
            channel.eventLoop().execute(() -> {
                repairQueued = false;
                EpollRegistrationRepair.repair(channel);
            });
        }
    }

    // ---- what the machine decided ------------------------------------------------------------

    @Override
    public void flushThen(CloseMachine.Step next) {
        channel.flush();
        writes.whenFlushed(resumeTasks[next.ordinal()]);
    }

    @Override
    public boolean writesInFlight() {
        return writes.inFlight();
    }

    @Override
    public void sendFin() {
        boolean sent;
        try {
            sent = DirectFin.send(channel);
        } catch (IOException | NotYetConnectedException e) {
            finFailed(e);
            return;
        }
        if (!sent) {
            // The listener is on the promise before Netty completes it: the machine is FIN_SENT by
            // the time Netty tells the handlers, as after a DirectFin.
            ChannelPromise shutdown = channel.newPromise();
            shutdown.addListener(outputShutDown);
            ((DuplexChannel) channel).shutdownOutput(shutdown);
            return;
        }
        finSentDirectly = true;
        machine.outputShutDown();
        // What Netty's shutdownOutput() tells the handlers after Grace.
        ctx.fireUserEventTriggered(ChannelOutputShutdownEvent.INSTANCE);
    }

    private void outputShutDown(ChannelFuture f) {
        if (f.isSuccess()) {
            machine.outputShutDown();
        } else {
            finFailed(f.cause());
        }
    }

    private void finFailed(Throwable cause) {
        // An RST waiting unread makes shutdown(SHUT_WR) fail with ENOTCONN on epoll (Netty:
        // NotYetConnectedException); the JDK ignores it.
        boolean resetWaiting = cause instanceof NotYetConnectedException || watch.connectionGone();
        machine.finFailed(cause, resetWaiting || Resets.isPeerReset(cause));
    }

    @Override
    public void closeSocket(boolean reset) {
        if (reset) {
            // SO_LINGER 0: close() sends RST and leaves no TIME_WAIT.
            try {
                channel.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException e) {
                log.debug("SO_LINGER 0 failed on {}: {}", channel, e.toString());
            }
        }
        if (machine.outcome() == Outcome.PEER_RESET || machine.outcome() == Outcome.ERROR) {
            log.debug("{} ended {}: {}", channel, machine.outcome(), String.valueOf(machine.cause()));
        }
        watch.socketClosing(machine.outputShut(), machine.releasedWithReset());
        ctx.close();
    }

    @Override
    public void readToEnd() {
        channel.config().setAutoRead(true);
    }

    @Override
    public void readPass(long delayNanos) {
        channel.read();
        timers.afterNextReadPass(delayNanos, readPassDone);
    }

    @Override
    public void pollThen(CloseMachine.Step next) {
        timers.poll(resumeTasks[next.ordinal()]);
    }

    @Override
    public void closeDeadlineMoved(long deadlineNanos) {
        timers.closeBy(deadlineNanos);
    }

    @Override
    public void stateChanged(ConnectionState from, ConnectionState to) {
        timers.watchInactivity(machine.inactivityLimitNanos());
        try {
            listener.stateChanged(this, from, to);
        } catch (Throwable t) {
            log.warn("connection listener failed on {} -> {} of {}", from, to, channel, t);
        }
    }

    @Override
    public void finSent() {
        finSentFuture.complete(null);
    }

    /** The one place a connection becomes CLOSED and its report is delivered. */
    private void finish() {
        if (machine.state() == ConnectionState.CLOSED) {
            return;
        }
        timers.cancelAll();
        if (!opened) {
            opened();
        }
        if (machine.outcome() == Outcome.ERROR) {
            machine.causeIfNone(new ClosedChannelException());
        }
        CloseReport report = CloseReports.of(machine, watch, localAddress, remoteAddress, bytesIn, writes,
                discardedInbound, timers.nanoTime() - openedAtNanos);
        try {
            machine.closed();
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

    private void onEventLoop(Runnable task) {
        if (channel.eventLoop().inEventLoop()) {
            task.run();
        } else {
            channel.eventLoop().execute(task);
        }
    }

    @Override
    public String toString() {
        return "Connection[" + remoteAddress + " " + machine.state() + "]";
    }
}
