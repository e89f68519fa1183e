package dev.grace.cli.bench;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import dev.grace.Outcome;
import dev.grace.SourcePorts;
import dev.grace.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The load {@code grace bench} puts on a server: echo (ping-pong of a size on each
 * connection), stream (bulk both ways) or churn (connect, send, half-close, read to EOF, close).
 * Every byte that comes back is checked against what was sent; every connection's end is
 * counted as a clean FIN, a reset or a timeout (Grace's close report says which).
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

    private final Settings settings;
    private final Recorder latency = new Recorder(3);
    private final LongAdder operations = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final AtomicInteger clean = new AtomicInteger();
    private final AtomicInteger reset = new AtomicInteger();
    private final AtomicInteger timeout = new AtomicInteger();
    private final AtomicInteger nextId = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicReference<String> mismatch = new AtomicReference<>();
    private final CountDownLatch allEnded;
    private volatile boolean stopping;
    private EventLoopGroup group;

    public Load(Settings settings) {
        this.settings = settings;
        this.allEnded = new CountDownLatch(1);
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
            while (System.nanoTime() < endNanos && mismatch.get() == null) {
                Thread.sleep(Math.min(1_000, Math.max(1, (endNanos - System.nanoTime()) / 1_000_000)));
                Histogram interval = latency.getIntervalHistogram();
                total.add(interval);
                long ops = operations.sum();
                long byteCount = bytes.sum();
                progress.accept(new Progress((System.nanoTime() - startNanos) / 1e9, ops - lastOps, byteCount - lastBytes, interval));
                lastOps = ops;
                lastBytes = byteCount;
            }
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            long opsAtEnd = operations.sum();
            long bytesAtEnd = bytes.sum();
            stopping = true;
            if (inFlight.get() > 0 && !allEnded.await(10, TimeUnit.SECONDS)) {
                // Whatever is still open did not end in time.
            }
            total.add(latency.getIntervalHistogram());
            return new Result(settings, seconds, opsAtEnd, bytesAtEnd, total, clean.get(), reset.get(),
                    timeout.get() + inFlight.get(), mismatch.get());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
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
                        Connection connection = Grace.install(channel, ConnectionOptions.defaults(), dev.grace.ConnectionListener.NONE);
                        Exchange exchange = switch (settings.mode()) {
                            case ECHO -> new PingPong(id, connection);
                            case STREAM -> new Stream(id, connection);
                            case CHURN -> new OneShot(id, connection);
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

    private void ended(CloseReport report, long startNanos) {
        if (settings.mode() == Mode.CHURN && report.outcome().isClean() && mismatch.get() == null) {
            latency.recordValue(Math.max(1, System.nanoTime() - startNanos));
            operations.increment();
        }
        countEnd(report.outcome());
    }

    private void countEnd(Outcome outcome) {
        switch (outcome) {
            case FIN_BOTH_WAYS, FIN_SENT, RELEASED_WITH_RESET -> clean.incrementAndGet();
            case ABORTED_AT_DEADLINE -> timeout.incrementAndGet();
            default -> reset.incrementAndGet();
        }
        if (settings.mode() == Mode.CHURN && !stopping && mismatch.get() == null) {
            inFlight.decrementAndGet();
            open();
        } else if (inFlight.decrementAndGet() == 0 && stopping) {
            allEnded.countDown();
        }
    }

    private void mismatch(int connection, long offset, Connection on, String why) {
        mismatch.compareAndSet(null, "data mismatch on connection " + connection + " at byte " + offset + why);
        stopping = true;
        on.abort();
    }

    /** One connection's side of the load: what it sent, and how much of that came back checked. */
    private abstract class Exchange extends ChannelInboundHandlerAdapter {
        final int id;
        final Connection connection;
        long sent;
        long received;

        Exchange(int id, Connection connection) {
            this.id = id;
            this.connection = connection;
        }

        /** The next SIZE bytes of this connection's pattern, counted as sent. */
        ByteBuf nextChunk(ChannelHandlerContext ctx) {
            ByteBuf buf = ctx.alloc().buffer(settings.sizeBytes());
            Pattern.fill(buf, id, sent, settings.sizeBytes());
            sent += settings.sizeBytes();
            return buf;
        }

        /**
         * Checks an echoed chunk against the pattern, and that it does not go past what was sent;
         * counts and releases it. Returns false after recording a mismatch (which ends the run).
         */
        boolean echoed(Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                long wrong = Pattern.firstMismatch(buf, id, received);
                if (wrong >= 0 || received + buf.readableBytes() > sent) {
                    mismatch(id, wrong >= 0 ? wrong : sent, connection, "");
                    return false;
                }
                received += buf.readableBytes();
                bytes.add(buf.readableBytes());
                return true;
            } finally {
                buf.release();
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof ChannelInputShutdownEvent && received < sent) {
                // A FIN with echo still owed: the stream was truncated and would look complete.
                mismatch(id, received, connection, ": the server's FIN came after " + received + " of " + sent + " bytes");
            }
            ctx.fireUserEventTriggered(event);
        }
    }

    /** Echo: SIZE bytes out, the same SIZE back and checked, again, until the end; then half-close. */
    private final class PingPong extends Exchange {
        private long sentAtNanos;

        PingPong(int id, Connection connection) {
            super(id, connection);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            next(ctx);
            ctx.fireChannelActive();
        }

        private void next(ChannelHandlerContext ctx) {
            if (stopping) {
                connection.shutdownOutput();
                return;
            }
            ByteBuf buf = nextChunk(ctx);
            sentAtNanos = System.nanoTime();
            ctx.writeAndFlush(buf);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (echoed(msg) && received == sent) {
                latency.recordValue(Math.max(1, System.nanoTime() - sentAtNanos));
                operations.increment();
                next(ctx);
            }
        }
    }

    /** Stream: write while the channel is writable, check everything that comes back. */
    private final class Stream extends Exchange {
        private boolean finished;

        Stream(int id, Connection connection) {
            super(id, connection);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            pump(ctx);
            ctx.fireChannelActive();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            pump(ctx);
            ctx.fireChannelWritabilityChanged();
        }

        private void pump(ChannelHandlerContext ctx) {
            while (!stopping && ctx.channel().isWritable()) {
                ctx.write(nextChunk(ctx)).addListener(f -> {
                    if (f.isSuccess()) {
                        operations.increment();
                    }
                });
            }
            ctx.flush();
            if (stopping && !finished) {
                finished = true;
                connection.shutdownOutput();
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (echoed(msg) && stopping && !finished) {
                pump(ctx);
            }
        }
    }

    /** Churn: one request, half-close, read to EOF and check; the connection's end starts the next. */
    private final class OneShot extends Exchange {
        OneShot(int id, Connection connection) {
            super(id, connection);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(nextChunk(ctx));
            connection.shutdownOutput();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            echoed(msg);
        }
    }
}
