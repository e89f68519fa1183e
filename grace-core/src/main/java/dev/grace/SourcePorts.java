package dev.grace;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * A range of local ports for outgoing connections, handed out in turn.
 *
 * <p>Whoever sends the first FIN keeps the connection's four-tuple in TIME_WAIT for 60 s. A
 * client (or a proxy's upstream leg) that connects to one server many times a second runs out
 * of tuples: the kernel's own choice of port may take over a TIME_WAIT only with
 * {@code net.ipv4.tcp_tw_reuse} (by default on loopback only) and only about a second after
 * the last segment. A socket bound to its port before {@code connect()}, with SO_REUSEADDR, may
 * take over a TIME_WAIT of the same tuple at once: Linux allows it when the old connection used
 * TCP timestamps, since PAWS then keeps its stray segments out of the new one. Handing ports
 * out in turn lets each TIME_WAIT age as long as the range allows.
 *
 * <p>A port stays leased while the connection that took it is open, so two connections of this
 * range never share one; when every port is leased the kernel chooses. Keep the range for this
 * use alone (outside {@code net.ipv4.ip_local_port_range}, or reserved in
 * {@code net.ipv4.ip_local_reserved_ports}): a port another socket holds without SO_REUSEADDR
 * fails the connect with "Address already in use", and without TCP timestamps a port still in
 * TIME_WAIT fails it with "Cannot assign requested address". Either way the port is set aside
 * for a minute. {@link #connectTrying} then tries the next ports, a few at most, and last a port
 * the kernel chooses, so a client is never failed for a port; {@link #connect} fails that one
 * connect. {@link #attempts()}, {@link #refusals()} and {@link #kernelChoices()} count what happened.
 */
public final class SourcePorts {
    /** Range ports a connect tries, after a refusal, before it lets the kernel choose. */
    public static final int MAX_REFUSED_PER_CONNECT = 8;

    private final int low;
    private final int high;
    private final BitSet leased;
    private final LongAdder attempts = new LongAdder();
    private final LongAdder refusals = new LongAdder();
    private final LongAdder kernelChoices = new LongAdder();
    /** Per thread: the bootstrap last connected through, and its SO_REUSEADDR clone. */
    private final FastThreadLocal<Bootstrap[]> lastReusing = new FastThreadLocal<>() {
        @Override
        protected Bootstrap[] initialValue() {
            return new Bootstrap[2];
        }
    };
    /** Per port, System.nanoTime() until which it is skipped; allocated once a port is refused. */
    private long[] setAsideUntil;
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
     * Connects through {@code bootstrap} (not changed by this, and not to be changed after it) from the next free port of the range, bound
     * with SO_REUSEADDR on the wildcard address of the remote's family; the port is free again
     * once the channel closes. When every port is leased, connects from a port the kernel chooses.
     * A port the kernel refuses (another socket holds it, or its TIME_WAIT cannot be taken over)
     * fails this connect and is set aside for {@link #SET_ASIDE_NANOS}.
     */
    public ChannelFuture connect(Bootstrap bootstrap, InetSocketAddress remote) {
        requireResolved(remote);
        return attempt(bootstrap, remote, lease());
    }

    /**
     * As {@link #connect}, but a port the kernel refuses is set aside and the next one tried, up
     * to {@link #MAX_REFUSED_PER_CONNECT} of them, and then a port the kernel chooses: only the
     * remote can fail this connect. Each attempt is a channel of its own, initialised by
     * {@code bootstrap}'s handler; those given up are closed. Completes with the connected channel.
     */
    public Future<Channel> connectTrying(Bootstrap bootstrap, InetSocketAddress remote) {
        requireResolved(remote);
        Promise<Channel> connected = bootstrap.config().group().next().newPromise();
        tryNext(bootstrap, remote, connected, 0);
        return connected;
    }

    private void tryNext(Bootstrap bootstrap, InetSocketAddress remote, Promise<Channel> connected,
            int refused) {
        int port = refused < MAX_REFUSED_PER_CONNECT ? lease() : 0;
        ChannelFuture attempt;
        try {
            attempt = attempt(bootstrap, remote, port);
        } catch (RuntimeException | Error e) {
            connected.tryFailure(e);
            return;
        }
        attempt.addListener((ChannelFuture f) -> {
            if (f.isSuccess()) {
                if (!connected.trySuccess(f.channel())) {
                    f.channel().close(); // the caller gave up meanwhile
                }
            } else if (port != 0 && portRefused(f.cause()) && !connected.isDone()) {
                f.channel().close();
                tryNext(bootstrap, remote, connected, refused + 1);
            } else {
                connected.tryFailure(f.cause());
            }
        });
    }

    private static void requireResolved(InetSocketAddress remote) {
        if (remote.isUnresolved()) {
            throw new IllegalArgumentException("resolve " + remote + " before connecting from a chosen port");
        }
    }

    /**
     * {@code bootstrap} with SO_REUSEADDR, cloned once per thread for the bootstrap last seen there
     * rather than once per connect: a proxy's leg bootstrap serves every session of its loop.
     */
    private Bootstrap reusingAddresses(Bootstrap bootstrap) {
        Bootstrap[] last = lastReusing.get();
        if (last[0] != bootstrap) {
            last[0] = bootstrap;
            last[1] = bootstrap.clone().option(ChannelOption.SO_REUSEADDR, true);
        }
        return last[1];
    }

    /** One connect from {@code port} of the range, or from a port the kernel chooses when it is 0. */
    private ChannelFuture attempt(Bootstrap bootstrap, InetSocketAddress remote, int port) {
        attempts.increment();
        if (port == 0) {
            kernelChoices.increment();
            return bootstrap.connect(remote);
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable releaseOnce = () -> {
            if (released.compareAndSet(false, true)) {
                release(port);
            }
        };
        ChannelFuture connect;
        try {
            InetAddress wildcard = wildcard(remote.getAddress() instanceof Inet6Address ? 16 : 4);
            connect = reusingAddresses(bootstrap).connect(remote, new InetSocketAddress(wildcard, port));
        } catch (RuntimeException | Error e) {
            releaseOnce.run();
            throw e;
        }
        // A channel that never registered (no descriptor left, say) never completes its close future.
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                if (portRefused(f.cause())) {
                    refusals.increment();
                    setAside(port);
                }
                releaseOnce.run();
            }
        });
        connect.channel().closeFuture().addListener(f -> releaseOnce.run());
        return connect;
    }

    /** Connects attempted, each port tried counting once (a kernel-chosen one included). */
    public long attempts() {
        return attempts.sum();
    }

    /** Ports of the range the kernel refused (each then set aside). */
    public long refusals() {
        return refusals.sum();
    }

    /** Connects left to the kernel's choice of port: every port leased or set aside, or too many refused. */
    public long kernelChoices() {
        return kernelChoices.sum();
    }

    /** How long a port the kernel refused is skipped: a TIME_WAIT lasts 60 s on Linux. */
    public static final long SET_ASIDE_NANOS = TimeUnit.SECONDS.toNanos(60);

    /**
     * The next port after the last one leased that no open connection of this range holds and
     * that is not set aside; 0 if there is none.
     */
    synchronized int lease() {
        int size = high - low + 1;
        long now = System.nanoTime();
        for (int i = 0, offset = next - low; i < size; i++, offset = offset + 1 == size ? 0 : offset + 1) {
            if (leased.get(offset)) {
                continue;
            }
            if (setAsideUntil != null && setAsideUntil[offset] != 0) {
                if (setAsideUntil[offset] - now > 0) {
                    continue;
                }
                setAsideUntil[offset] = 0;
            }
            leased.set(offset);
            next = offset + 1 == size ? low : low + offset + 1;
            return low + offset;
        }
        return 0;
    }

    synchronized void release(int port) {
        leased.clear(port - low);
    }

    synchronized void setAside(int port) {
        if (setAsideUntil == null) {
            setAsideUntil = new long[high - low + 1];
        }
        setAsideUntil[port - low] = System.nanoTime() + SET_ASIDE_NANOS | 1; // never 0, which means usable
    }

    /** Whether a connect failed because of its local port rather than the remote. */
    private static boolean portRefused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage());
            if (t instanceof BindException || message.contains("Address already in use")
                    || message.contains("Cannot assign requested address")) {
                return true;
            }
        }
        return false;
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
