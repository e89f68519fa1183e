package dev.grace.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.MaxMessagesRecvByteBufAllocator;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes a listener only after it accepted every connection the kernel had already queued, so
 * that no client whose {@code connect()} succeeded is reset. Closing a listening socket resets
 * whatever waits in its accept queue, and neither transport can tell when that queue is empty.
 * So the drain connects a sentinel of its own: the queue is first-in first-out, and the moment
 * the server accepts the sentinel, every connection queued before it has been accepted, and the
 * listener closes at the end of that accept pass: connections queued after the sentinel
 * connected once the drain had begun, and those the pass took are served too. The kernel can
 * still queue one between the pass's last accept and the close, and that one is reset: where
 * the kernel can be told to ignore new SYNs, {@link HandshakeGate} is used instead.
 *
 * <p>Sits in the listening channel's pipeline, ahead of Netty's acceptor; runs on the
 * listener's event loop, except {@link #acceptBacklogThenClose} which blocks its caller (the
 * drain thread) for at most a loopback connect.
 */
final class BacklogSentinel extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(BacklogSentinel.class);

    private static final int MAX_ACCEPTS_PER_PASS = 65_536;

    private final AtomicInteger acceptedNotInitialized;
    private final CompletableFuture<Void> sentinelAccepted = new CompletableFuture<>();
    private volatile InetSocketAddress sentinelAddress;
    private boolean sentinelSeen;

    BacklogSentinel(AtomicInteger acceptedNotInitialized) {
        this.acceptedNotInitialized = acceptedNotInitialized;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel child = (Channel) msg;
        InetSocketAddress expected = sentinelAddress;
        if (expected != null && expected.equals(child.remoteAddress())) {
            closeWithoutTimeWait(child);
            // Everything queued before the sentinel has been accepted. What came after it
            // connected once the drain had begun: this pass accepts it too, until the queue is
            // empty, and the listener closes at the pass's end, so a flood cannot keep it open.
            sentinelSeen = true;
            return;
        }
        acceptedNotInitialized.incrementAndGet();
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ctx.fireChannelReadComplete();
        if (sentinelSeen) {
            ctx.channel().close();
            sentinelAccepted.complete(null);
        }
    }

    /**
     * Connects the sentinel to {@code listener} and waits until it was accepted; the listener
     * then closes itself. Returns false (and the caller closes the listener) if the sentinel
     * could not get through within {@code timeoutMillis}.
     */
    boolean acceptBacklogThenClose(Channel listenerChannel, long timeoutMillis) {
        InetSocketAddress listener = (InetSocketAddress) listenerChannel.localAddress();
        // Reach the sentinel in as few accept passes as possible.
        listenerChannel.eventLoop().submit(() -> acceptWholeQueuePerPass(listenerChannel)).awaitUninterruptibly(timeoutMillis);
        InetAddress target = listener.getAddress();
        if (target.isAnyLocalAddress()) {
            target = byName(target instanceof Inet6Address ? "::1" : "127.0.0.1");
        }
        try (SocketChannel sentinel = SocketChannel.open()) {
            sentinel.bind(new InetSocketAddress(target, 0));
            sentinelAddress = (InetSocketAddress) sentinel.getLocalAddress();
            sentinel.setOption(StandardSocketOptions.SO_LINGER, 0);
            sentinel.socket().connect(new InetSocketAddress(target, listener.getPort()), (int) timeoutMillis);
            sentinelAccepted.get(timeoutMillis, TimeUnit.MILLISECONDS);
            return true;
        } catch (IOException | ExecutionException | TimeoutException e) {
            log.debug("backlog sentinel did not get through to {}: {}", listener, e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * One accept pass takes the whole queue: it holds at most the listen backlog (somaxconn,
     * 4096 by default). Runs on the listener's event loop.
     */
    static void acceptWholeQueuePerPass(Channel listenerChannel) {
        if (listenerChannel.config().getRecvByteBufAllocator() instanceof MaxMessagesRecvByteBufAllocator allocator) {
            allocator.maxMessagesPerRead(MAX_ACCEPTS_PER_PASS);
        }
    }

    private static void closeWithoutTimeWait(Channel child) {
        try {
            child.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException e) {
            log.debug("SO_LINGER 0 on the backlog sentinel failed: {}", e.toString());
        }
        child.unsafe().closeForcibly();
    }

    private static InetAddress byName(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
