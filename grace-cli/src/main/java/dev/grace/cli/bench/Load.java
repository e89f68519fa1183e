package dev.grace.cli.bench;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import dev.grace.SourcePorts;
import dev.grace.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;

/**
 * The load {@code grace bench} puts on a server: echo (ping-pong of a size on each
 * connection), stream (bulk both ways) or churn (connect, send, half-close, read to EOF, close).
 * Opens the connections, each with Grace installed and an {@link Exchange} for its mode, reports
 * progress once a second and waits for every connection to end. What the bytes and the endings
 * count as is decided in {@link EchoLedger} and {@link Tally}.
 */
public final class Load {
    /** What kind of load. */
    public enum Mode { ECHO, STREAM, CHURN }

    /**
     * @param sizeBytes   bytes per request (echo, churn) or per write (stream)
     * @param sourcePorts local ports to connect from, in turn; null: the kernel chooses
     */
    public record Settings(Mode mode, InetSocketAddress target, int connections, int sizeBytes, Duration duration, Transport transport,
            SourcePorts sourcePorts) {}

    /** One second of progress. */
    public record Progress(double seconds, long operations, long bytes, Histogram interval) {}

    /**
     * @param operations round trips (echo), connections completed (churn), or writes (stream)
     * @param bytes      bytes echoed back and verified
     * @param mismatch   "data mismatch on connection N at byte M", or null
     */
    public record Result(Settings settings, double seconds, long operations, long bytes, Histogram latencyNanos,
            int clean, int reset, int timeout, String mismatch) {}

    private static final long END_WAIT_SECONDS = 10;

    private final Settings settings;
    private final Tally tally = new Tally();
    private final AtomicInteger nextId = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final CountDownLatch allEnded = new CountDownLatch(1);
    private volatile boolean stopping;
    private EventLoopGroup group;

    public Load(Settings settings) {
        this.settings = settings;
    }

    public Result run(Consumer<Progress> progress) throws InterruptedException {
        group = settings.transport().newEventLoopGroup(Math.max(1, Runtime.getRuntime().availableProcessors()), "grace-bench");
        Histogram total = new Histogram(3);
        long startNanos = System.nanoTime();
        try {
            for (int i = 0; i < settings.connections(); i++) {
                open();
            }
            long endNanos = startNanos + settings.duration().toNanos();
            long lastOps = 0;
            long lastBytes = 0;
            while (System.nanoTime() < endNanos && tally.mismatch() == null) {
                Thread.sleep(Math.min(1_000, Math.max(1, (endNanos - System.nanoTime()) / 1_000_000)));
                Histogram interval = tally.interval();
                total.add(interval);
                long ops = tally.operations();
                long byteCount = tally.bytes();
                progress.accept(new Progress((System.nanoTime() - startNanos) / 1e9, ops - lastOps, byteCount - lastBytes, interval));
                lastOps = ops;
                lastBytes = byteCount;
            }
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            long opsAtEnd = tally.operations();
            long bytesAtEnd = tally.bytes();
            stopping = true;
            if (inFlight.get() > 0) {
                // Whatever has not ended by then counts as a timeout.
                allEnded.await(END_WAIT_SECONDS, TimeUnit.SECONDS);
            }
            total.add(tally.interval());
            return tally.result(settings, seconds, opsAtEnd, bytesAtEnd, total, inFlight.get());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    Settings settings() {
        return settings;
    }

    Tally tally() {
        return tally;
    }

    /** Whether the load's time is up or a mismatch ended it: connections finish what they do and half-close. */
    boolean stopping() {
        return stopping;
    }

    /** Ends the run: the first data mismatch is the result. */
    void mismatched(String mismatch) {
        tally.mismatch(mismatch);
        stopping = true;
    }

    /** Opens one connection running this load's mode. */
    private void open() {
        int id = nextId.getAndIncrement();
        inFlight.incrementAndGet();
        long startNanos = System.nanoTime();
        Bootstrap bootstrap = new Bootstrap().group(group).channel(settings.transport().channelClass())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        Connection connection = Grace.install(channel, ConnectionOptions.defaults().withWritesAfterPeerFin(true), ConnectionListener.NONE);
                        Exchange exchange = switch (settings.mode()) {
                            case ECHO -> new PingPong(Load.this, id, connection);
                            case STREAM -> new Stream(Load.this, id, connection);
                            case CHURN -> new OneShot(Load.this, id, connection);
                        };
                        connection.closeFuture().thenAccept(report -> ended(report, startNanos));
                        channel.pipeline().addLast(exchange);
                    }
                });
        // A refused connect ends in Grace's report too (ERROR), counted as a reset.
        if (settings.sourcePorts() == null) {
            bootstrap.connect(settings.target());
        } else {
            settings.sourcePorts().connect(bootstrap, settings.target());
        }
    }

    /** A churn connection that ended clean is one operation, and its end opens the next while the load runs. */
    private void ended(CloseReport report, long startNanos) {
        boolean churn = settings.mode() == Mode.CHURN;
        if (churn && report.outcome().isClean() && tally.mismatch() == null) {
            tally.operation(System.nanoTime() - startNanos);
        }
        tally.ended(report.outcome());
        if (churn && !stopping && tally.mismatch() == null) {
            inFlight.decrementAndGet();
            open();
        } else if (inFlight.decrementAndGet() == 0 && stopping) {
            allEnded.countDown();
        }
    }
}
