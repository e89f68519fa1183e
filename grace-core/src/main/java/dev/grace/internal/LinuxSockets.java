package dev.grace.internal;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.Buffer;
import io.netty.channel.unix.Socket;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What only Linux can tell or do for a socket, reached through Netty's epoll file descriptor
 * ({@link Socket#getRawOpt}/{@link Socket#setRawOpt}); every method answers "unknown" (or false)
 * for any other channel. Layouts are the kernel's ABI (include/uapi/linux/tcp.h, filter.h):
 * they only ever grow at the end, and a kernel too old for a field leaves it zero.
 */
public final class LinuxSockets {
    private static final int SOL_SOCKET = 1;
    private static final int SO_ATTACH_FILTER = 26;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_INFO = 11;

    // struct tcp_info
    private static final int TCP_INFO_BYTES = 232;
    private static final int TCPI_STATE = 0;
    private static final int TCPI_UNACKED = 24;
    private static final int TCPI_BYTES_RECEIVED = 128;
    private static final int TCPI_SEGS_IN = 140;
    private static final int TCP_LISTEN = 10;

    // Classic BPF, run on each segment with the TCP header at offset 0: drop a SYN without ACK
    // (a new handshake), keep everything else (the ACKs that complete handshakes already begun).
    private static final int[][] DROP_NEW_HANDSHAKES = {
            {0x30, 0, 0, 13},          // ldb [13]        the flags byte
            {0x54, 0, 0, 0x12},        // and #SYN|ACK
            {0x15, 0, 1, 0x02},        // jeq #SYN        ? drop : keep
            {0x06, 0, 0, 0},           // ret #0          drop
            {0x06, 0, 0, 0xFFFFFFFF},  // ret #-1         keep the whole segment
    };

    /** The program in native memory, built once: the kernel copies it on each attach. */
    private static final ByteBuffer DROP_NEW_HANDSHAKES_PROGRAM = program(DROP_NEW_HANDSHAKES);

    private LinuxSockets() {}

    private static ByteBuffer program(int[][] instructions) {
        ByteBuffer program = ByteBuffer.allocateDirect(8 * instructions.length).order(ByteOrder.nativeOrder());
        for (int[] insn : instructions) {
            program.putShort((short) insn[0]).put((byte) insn[1]).put((byte) insn[2]).putInt(insn[3]);
        }
        return program;
    }

    /**
     * Makes a listening socket ignore new SYNs while it keeps completing and queueing the
     * handshakes already under way. A client whose SYN is ignored retransmits it a second later
     * and is refused then, by which time the listener is closed; nobody is reset. Returns false
     * where it cannot be done (not epoll, or the kernel refused the filter).
     */
    public static boolean ignoreNewHandshakes(Channel listener) {
        Socket socket = socketOf(listener);
        if (socket == null) {
            return false;
        }
        // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
        ByteBuffer fprog = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder());
        fprog.putShort(0, (short) DROP_NEW_HANDSHAKES.length);
        fprog.putLong(8, Buffer.memoryAddress(DROP_NEW_HANDSHAKES_PROGRAM));
        try {
            socket.setRawOpt(SOL_SOCKET, SO_ATTACH_FILTER, fprog);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Connections a listening socket has queued and not yet handed to accept(), or -1 when it cannot be told. */
    public static int acceptQueueLength(Channel listener) {
        ByteBuffer info = tcpInfo(listener);
        if (info == null || (info.get(TCPI_STATE) & 0xFF) != TCP_LISTEN) {
            return -1;
        }
        // For a listener the kernel reports its accept queue's length in tcpi_unacked.
        return info.getInt(TCPI_UNACKED);
    }

    /**
     * Bytes the kernel received in order on a connected socket since it was established, or -1
     * when it cannot be told (not epoll, a kernel before 4.1, the socket gone). The difference to
     * what the application has read is what still waits in the receive queue.
     */
    public static long bytesReceived(Channel connected) {
        ByteBuffer info = tcpInfo(connected);
        if (info == null) {
            return -1;
        }
        // Every established socket has received a segment (the handshake's): a zero here means
        // the kernel predates these fields, not that nothing came.
        if (info.getInt(TCPI_SEGS_IN) == 0) {
            return -1;
        }
        return info.getLong(TCPI_BYTES_RECEIVED);
    }

    private static ByteBuffer tcpInfo(Channel channel) {
        Socket socket = socketOf(channel);
        if (socket == null || !channel.isOpen()) {
            return null;
        }
        ByteBuffer info = ByteBuffer.allocate(TCP_INFO_BYTES).order(ByteOrder.nativeOrder());
        try {
            socket.getRawOpt(IPPROTO_TCP, TCP_INFO, info);
            return info;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static Socket socketOf(Channel channel) {
        if (channel instanceof EpollSocketChannel epoll && epoll.fd() instanceof Socket socket) {
            return socket;
        }
        if (channel instanceof EpollServerSocketChannel epoll && epoll.fd() instanceof Socket socket) {
            return socket;
        }
        return null;
    }
}
