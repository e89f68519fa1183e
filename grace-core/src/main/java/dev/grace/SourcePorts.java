package dev.grace;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.BitSet;

/**
 * A range of local ports for outgoing connections, handed out in turn.
 *
 * <p>Whoever sends the first FIN keeps the connection's four-tuple in TIME_WAIT for 60 s. A
 * client (or a proxy's upstream leg) that connects to one server many times a second runs out
 * of tuples: the kernel's own choice of port may take over a TIME_WAIT only a second after it
 * began, and only on loopback. A socket bound to its port before {@code connect()}, with
 * SO_REUSEADDR, may take over a TIME_WAIT of the same tuple at once: Linux allows it when the
 * old connection used TCP timestamps, since PAWS then keeps its stray segments out of the new
 * one. Handing ports out in turn lets each TIME_WAIT age as long as the range allows.
 *
 * <p>A port stays leased while the connection that took it is open, so two connections of this
 * range never share one; when every port is leased the kernel chooses. Keep the range for this
 * use alone (list it in {@code net.ipv4.ip_local_reserved_ports}): a port another socket holds
 * without SO_REUSEADDR fails the connect with "Address already in use". Without TCP timestamps
 * a port comes back only when its TIME_WAIT ends: size the range for 60 s of connections.
 */
public final class SourcePorts {
    private final int low;
    private final int high;
    private final BitSet leased;
    private int next;

    private SourcePorts(int low, int high) {
        this.low = low;
        this.high = high;
        this.leased = new BitSet(high - low + 1);
        this.next = low;
    }

    /** Ports {@code low} to {@code high}, both included. */
    public static SourcePorts range(int low, int high) {
        if (low < 1 || high > 65535 || low > high) {
            throw new IllegalArgumentException("source ports must be a range LOW-HIGH within 1-65535, got " + low + "-" + high);
        }
        return new SourcePorts(low, high);
    }

    /** Parses {@code LOW-HIGH}. */
    public static SourcePorts parse(String text) {
        if (!text.matches("\\d{1,5}-\\d{1,5}")) {
            throw new IllegalArgumentException("'" + text + "' is not a port range LOW-HIGH");
        }
        int dash = text.indexOf('-');
        return range(Integer.parseInt(text.substring(0, dash)), Integer.parseInt(text.substring(dash + 1)));
    }

    public int low() {
        return low;
    }

    public int high() {
        return high;
    }

    /**
     * Connects through {@code bootstrap} (not changed) from the next free port of the range, bound
     * with SO_REUSEADDR on the wildcard address of the remote's family; the port is free again
     * once the channel closes. When every port is leased, connects from a port the kernel chooses.
     */
    public ChannelFuture connect(Bootstrap bootstrap, InetSocketAddress remote) {
        int port = lease();
        if (port == 0) {
            return bootstrap.connect(remote);
        }
        InetAddress wildcard = wildcard(remote.getAddress() instanceof Inet6Address ? 16 : 4);
        ChannelFuture connect = bootstrap.clone().option(ChannelOption.SO_REUSEADDR, true)
                .connect(remote, new InetSocketAddress(wildcard, port));
        connect.channel().closeFuture().addListener(f -> release(port));
        return connect;
    }

    /** The next port no open connection of this range holds, after the last one leased; 0 if none is free. */
    synchronized int lease() {
        int size = high - low + 1;
        int offset = leased.nextClearBit(next - low);
        if (offset >= size) {
            offset = leased.nextClearBit(0);
            if (offset >= size) {
                return 0;
            }
        }
        leased.set(offset);
        next = offset + 1 == size ? low : low + offset + 1;
        return low + offset;
    }

    synchronized void release(int port) {
        leased.clear(port - low);
    }

    /** 0.0.0.0 or ::, by the length of the address. */
    private static InetAddress wildcard(int length) {
        try {
            return InetAddress.getByAddress(new byte[length]);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public String toString() {
        return low + "-" + high;
    }
}
