package dev.grace.testkit;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelOutputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;

/**
 * An {@link EmbeddedChannel} that can half-close, so Grace installs on it: for timer tests that
 * advance the channel's clock ({@link #advanceTimeBy}) instead of sleeping. Its "FIN" is the
 * output shutdown event Netty fires; {@link #peerFin()} plays the peer's.
 */
public final class EmbeddedDuplexChannel extends EmbeddedChannel implements DuplexChannel {
    private boolean inputShut;
    private boolean outputShut;

    public EmbeddedDuplexChannel() {
        super();
    }

    /** The peer's FIN, as Netty reports it with ALLOW_HALF_CLOSURE. */
    public void peerFin() {
        inputShut = true;
        pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        runPendingTasks();
    }

    @Override
    public boolean isInputShutdown() {
        return inputShut;
    }

    @Override
    public ChannelFuture shutdownInput() {
        return shutdownInput(newPromise());
    }

    @Override
    public ChannelFuture shutdownInput(ChannelPromise promise) {
        inputShut = true;
        return promise.setSuccess();
    }

    @Override
    public boolean isOutputShutdown() {
        return outputShut;
    }

    @Override
    public ChannelFuture shutdownOutput() {
        return shutdownOutput(newPromise());
    }

    @Override
    public ChannelFuture shutdownOutput(ChannelPromise promise) {
        outputShut = true;
        pipeline().fireUserEventTriggered(ChannelOutputShutdownEvent.INSTANCE);
        return promise.setSuccess();
    }

    @Override
    public boolean isShutdown() {
        return inputShut && outputShut;
    }

    @Override
    public ChannelFuture shutdown() {
        return shutdown(newPromise());
    }

    @Override
    public ChannelFuture shutdown(ChannelPromise promise) {
        inputShut = true;
        outputShut = true;
        return promise.setSuccess();
    }
}
