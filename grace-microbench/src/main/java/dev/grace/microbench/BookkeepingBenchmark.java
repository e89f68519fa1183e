package dev.grace.microbench;

import dev.grace.CloseReport;
import dev.grace.ConnectionListener;
import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import dev.grace.testkit.EmbeddedDuplexChannel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost Grace adds per read, per write and per connection, on Netty's EmbeddedChannel (no
 * sockets: this measures the bookkeeping alone). Each figure has a twin without Grace.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BookkeepingBenchmark {
    @Param({"false", "true"})
    public boolean grace;

    private EmbeddedChannel channel;
    private final ByteBuf chunk = Unpooled.unreleasableBuffer(Unpooled.directBuffer(64).writeZero(64));

    @Setup
    public void open() {
        channel = newChannel();
    }

    private EmbeddedChannel newChannel() {
        EmbeddedChannel embedded = new EmbeddedDuplexChannel();
        if (grace) {
            Grace.install(embedded, ConnectionOptions.defaults(), ConnectionListener.NONE);
        }
        embedded.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                // The protocol consumes the bytes.
            }
        });
        return embedded;
    }

    @TearDown
    public void close() {
        channel.finishAndReleaseAll();
    }

    /** One 64-byte read through the pipeline. */
    @Benchmark
    public void read() {
        channel.writeInbound(chunk.duplicate());
    }

    /** One 64-byte write and flush through the pipeline to the (embedded) transport. */
    @Benchmark
    public Object write() {
        channel.writeAndFlush(chunk.duplicate());
        return channel.readOutbound();
    }

    /** A connection's whole life: open, one read, one write, abort, close report. */
    @Benchmark
    public Object lifecycle() {
        EmbeddedChannel one = newChannel();
        one.writeInbound(chunk.duplicate());
        one.writeAndFlush(chunk.duplicate());
        one.readOutbound();
        if (grace) {
            CloseReport report = Grace.of(one).abort().getNow(null);
            one.finishAndReleaseAll();
            return report;
        }
        one.close();
        one.finishAndReleaseAll();
        return one;
    }
}
