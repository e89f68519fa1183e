package dev.grace.internal;

import io.netty.channel.Channel;
import java.net.SocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * What the kernel knows about one connection's delivery, where the transport can ask (epoll on
 * Linux): TCP_INFO for the TCP state and our FIN's acknowledgement, the send queue for bytes the
 * peer has not acknowledged (a release with RST, an abort once delivered), the receive counter
 * for input not read yet (a drain's FIN), and what held when the socket was closed (the
 * report's delivery). Elsewhere every answer is "cannot tell". Runs on the connection's event loop.
 */
final class DeliveryWatch implements CloseMachine.Kernel {
    private final Channel channel;
    private final TcpInfo tcpInfo;
    private SocketAddress local;
    private SocketAddress remote;
    private boolean finAcknowledgedAtClose;
    private long unackedSegmentsAtClose = -1;

    DeliveryWatch(Channel channel) {
        this.channel = channel;
        this.tcpInfo = TcpInfo.of(channel);
    }

    /** The connection's addresses, once connected: the send queue is found by them. */
    void connected(SocketAddress local, SocketAddress remote) {
        this.local = local;
        this.remote = remote;
    }

    /** Whether this transport reports the kernel's view at all (epoll). */
    boolean available() {
        return tcpInfo != null;
    }

    @Override
    public boolean canConfirmDelivery() {
        return tcpInfo != null;
    }

    @Override
    public boolean finAcknowledged() {
        return tcpInfo != null && tcpInfo.finAcknowledged();
    }

    @Override
    public boolean peerFinWaiting() {
        return tcpInfo != null && tcpInfo.state() == TcpInfo.CLOSE_WAIT;
    }

    @Override
    public boolean connectionGone() {
        return tcpInfo != null && tcpInfo.state() == TcpInfo.CLOSE;
    }

    @Override
    public long unacknowledgedBytes() {
        return tcpInfo == null ? -1 : KernelSendQueue.unacknowledgedBytes(local, remote);
    }

    @Override
    public long unreadInputBytes(long bytesRead, boolean peerFinRead) {
        if (tcpInfo == null) {
            return -1;
        }
        long received = LinuxSockets.bytesReceived(channel);
        if (received < 0) {
            return -1;
        }
        // The kernel counts the peer's FIN as one byte received.
        return Math.max(0, received - bytesRead - (peerFinRead ? 1 : 0));
    }

    /** Nanoseconds since the kernel last sent data, received data or an ACK, or -1. */
    long kernelIdleNanos() {
        long millis = tcpInfo == null ? -1 : tcpInfo.idleMillis();
        return millis < 0 ? -1 : TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /** Just before close(): after our FIN, whether the peer acknowledged it; after a release with RST, yes. */
    void socketClosing(boolean outputShut, boolean releasedWithReset) {
        if (tcpInfo == null) {
            return;
        }
        // One TCP_INFO read for both answers: this runs once per connection, on every close.
        boolean read = tcpInfo.read();
        finAcknowledgedAtClose = outputShut ? read && TcpInfo.finAcknowledgedIn(tcpInfo.lastState()) : releasedWithReset;
        unackedSegmentsAtClose = read ? tcpInfo.lastUnackedSegments() : -1;
    }

    boolean finAcknowledgedAtClose() {
        return finAcknowledgedAtClose;
    }

    long unackedSegmentsAtClose() {
        return unackedSegmentsAtClose;
    }
}
