package dev.grace.internal;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.EpollTcpInfo;

/**
 * What the kernel's TCP_INFO says about a socket, where the transport can ask (epoll only).
 * Linux moves a socket out of FIN_WAIT1, CLOSING and LAST_ACK only once the peer acknowledged
 * our FIN, and the FIN is sequenced after every data byte, so "our FIN is acknowledged" is
 * exactly "the peer has every byte we sent".
 */
final class TcpInfo {
    // include/net/tcp_states.h
    static final int ESTABLISHED = 1;
    static final int FIN_WAIT1 = 4;
    static final int FIN_WAIT2 = 5;
    static final int TIME_WAIT = 6;
    static final int CLOSE = 7;
    static final int CLOSE_WAIT = 8;
    static final int LAST_ACK = 9;
    static final int CLOSING = 11;

    static final int UNKNOWN = -1;

    private final EpollSocketChannel channel;
    private final EpollTcpInfo info = new EpollTcpInfo();

    private TcpInfo(EpollSocketChannel channel) {
        this.channel = channel;
    }

    /** A reader for {@code channel}, or null where the transport has no TCP_INFO. */
    static TcpInfo of(Channel channel) {
        return channel instanceof EpollSocketChannel epoll ? new TcpInfo(epoll) : null;
    }

    /** The kernel's TCP state, or {@link #UNKNOWN} if the socket cannot be asked any more. */
    int state() {
        return refresh() ? info.state() : UNKNOWN;
    }

    /** Unacknowledged segments in flight, or -1. */
    long unackedSegments() {
        return refresh() ? info.unacked() : -1;
    }

    /** Milliseconds since the kernel last sent data, received data or received an ACK, or -1. */
    long idleMillis() {
        if (!refresh()) {
            return -1;
        }
        return Math.min(info.lastDataSent(), Math.min(info.lastDataRecv(), info.lastAckRecv()));
    }

    /** After our FIN: whether the peer acknowledged it (and so every byte before it). */
    boolean finAcknowledged() {
        return finAcknowledgedIn(state());
    }

    static boolean finAcknowledgedIn(int state) {
        return state == FIN_WAIT2 || state == TIME_WAIT || state == CLOSE;
    }

    /**
     * One read for the state and the unacknowledged segments together (see {@link #lastState()},
     * {@link #lastUnackedSegments()}); false when the socket cannot be asked any more.
     */
    boolean read() {
        return refresh();
    }

    /** The state as of the last {@link #read()}. */
    int lastState() {
        return info.state();
    }

    /** Unacknowledged segments as of the last {@link #read()}. */
    long lastUnackedSegments() {
        return info.unacked();
    }

    private boolean refresh() {
        if (!channel.isOpen()) {
            return false;
        }
        try {
            channel.tcpInfo(info);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
