package dev.grace.internal;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.Socket;
import java.io.IOException;

/**
 * Sends the FIN of an epoll channel with {@code shutdown(SHUT_WR)} on its socket, instead of
 * Netty's {@code shutdownOutput()}: that one builds a {@code ChannelOutputShutdownException} with
 * a full stack trace on every call, for failing writes still queued, and on a proxy that is two
 * per session. Taken only when nothing is queued, so there is nothing to fail; the socket keeps
 * Netty's view ({@code isOutputShutdown()}) because the shutdown goes through Netty's own
 * {@link Socket}. Writes after it are refused by Grace (see {@link GracefulConnection}), as
 * Netty would. Runs on the channel's event loop.
 */
final class DirectFin {
    private DirectFin() {}

    /**
     * @return true when the FIN went; false when it has to go through Netty (not epoll, writes
     *         queued, output already shut), and nothing was done
     * @throws IOException the kernel's refusal; a reset waiting unread makes it a
     *         {@link java.nio.channels.NotYetConnectedException} (ENOTCONN) instead
     */
    static boolean send(Channel channel) throws IOException {
        if (!(channel instanceof EpollSocketChannel epoll) || !epoll.isOpen() || epoll.isOutputShutdown()) {
            return false;
        }
        ChannelOutboundBuffer queued = epoll.unsafe().outboundBuffer();
        if (queued == null || !queued.isEmpty() || queued.totalPendingWriteBytes() != 0) {
            return false;
        }
        ((Socket) epoll.fd()).shutdown(false, true);
        return true;
    }
}
