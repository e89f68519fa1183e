package dev.grace.cli;

import dev.grace.SourcePorts;
import dev.grace.cli.bench.Load;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code grace bench echo|stream|churn --target HOST:PORT}: load with verified data. Progress
 * once a second on stderr (a bar on a terminal), one summary line (or {@code --json}) on stdout;
 * exit 1 with {@code data mismatch on connection N at byte M} if any byte came back wrong.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Load a server and verify every byte: echo (ping-pong), stream (bulk both ways) or churn",
                "(connect, send, half-close, read to EOF, close). Reports rates, latency percentiles and how connections ended."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "echo|stream|churn", description = "The kind of load.")
    Load.Mode mode;

    @Option(names = "--target", required = true, converter = Values.HostPort.class, paramLabel = "HOST:PORT",
            description = "Server (an echo server, or a proxy in front of one).")
    InetSocketAddress target;

    @Option(names = {"-c", "--connections"}, defaultValue = "50", paramLabel = "N",
            description = "Connections (echo, stream) or connections in flight (churn) (default: ${DEFAULT-VALUE}).")
    int connections;

    @Option(names = {"-s", "--size"}, converter = Values.Size.class, paramLabel = "SIZE",
            description = "Bytes per request (echo, churn; default 64) or per write (stream; default 64k).")
    Integer size;

    @Option(names = {"-d", "--duration"}, defaultValue = "10s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "How long to load (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--source-ports", converter = Values.PortRange.class, paramLabel = "LOW-HIGH",
            description = "Connect from these local ports, in turn, taking over their TIME_WAIT at once (as grace proxy's --upstream-source-ports). Default: the kernel chooses.")
    SourcePorts sourcePorts;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Mixin
    TransportOption transport;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int bytes = size != null ? size : mode == Load.Mode.STREAM ? 64 * 1024 : 64;
        if (connections < 1 || connections > 100_000) {
            err.println("bench: Invalid value for option '--connections': '" + connections + "' must be between 1 and 100000");
            return ExitCode.USAGE;
        }
        if (bytes < 1) {
            err.println("bench: Invalid value for option '--size': must be more than 0");
            return ExitCode.USAGE;
        }
        boolean terminal = System.console() != null;
        String name = mode.name().toLowerCase(Locale.ROOT);
        Load.Result result = new Load(new Load.Settings(mode, target, connections, bytes, duration, transport.chosen(), sourcePorts)).run(progress -> {
            String line = String.format(Locale.ROOT, "%s %5.1fs  %,10d %s/s  %10s/s  p99 %s",
                    name, progress.seconds(), progress.operations(), unit(), mebibytes(progress.bytes()),
                    micros(progress.interval().getTotalCount() == 0 ? 0 : progress.interval().getValueAtPercentile(99)));
            if (terminal) {
                int done = (int) Math.min(30, 30 * progress.seconds() / Math.max(0.001, duration.toMillis() / 1000.0));
                err.print("\r[" + "#".repeat(done) + " ".repeat(30 - done) + "] " + line);
            } else {
                err.println(line);
            }
            err.flush();
        });
        if (terminal) {
            err.println();
        }
        out.println(json ? json(result) : summary(result));
        out.flush();
        if (result.mismatch() != null) {
            err.println("bench: " + result.mismatch());
            return ExitCode.IO_FAILURE;
        }
        if (result.operations() == 0 && result.clean() == 0) {
            err.println("bench: nothing came back from " + Values.format(target));
            return ExitCode.IO_FAILURE;
        }
        return ExitCode.OK;
    }

    private String unit() {
        return switch (mode) {
            case ECHO -> "req";
            case STREAM -> "writes";
            case CHURN -> "conn";
        };
    }

    private static String mebibytes(long bytes) {
        return String.format(Locale.ROOT, "%.1fMiB", bytes / 1048576.0);
    }

    private static String micros(long nanos) {
        return nanos < 1_000_000 ? String.format(Locale.ROOT, "%dus", nanos / 1000) : String.format(Locale.ROOT, "%.2fms", nanos / 1e6);
    }

    private String summary(Load.Result r) {
        Histogram h = r.latencyNanos();
        return String.format(Locale.ROOT,
                "bench %s target=%s connections=%d size=%d seconds=%.2f operations=%d rate=%.0f/s bytes=%d throughput=%.1fMiB/s "
                        + "p50=%s p99=%s p999=%s max=%s clean=%d reset=%d timeout=%d",
                mode.name().toLowerCase(Locale.ROOT), Values.format(target), connections, r.settings().sizeBytes(), r.seconds(),
                r.operations(), r.operations() / r.seconds(), r.bytes(), r.bytes() / r.seconds() / 1048576.0,
                micros(percentile(h, 50)), micros(percentile(h, 99)), micros(percentile(h, 99.9)), micros(h.getMaxValue()),
                r.clean(), r.reset(), r.timeout());
    }

    private String json(Load.Result r) {
        Histogram h = r.latencyNanos();
        return String.format(Locale.ROOT,
                "{\"mode\": \"%s\", \"target\": %s, \"connections\": %d, \"size\": %d, \"seconds\": %.3f, \"operations\": %d, "
                        + "\"rate\": %.1f, \"bytes\": %d, \"latency_us\": {\"p50\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}, "
                        + "\"clean\": %d, \"reset\": %d, \"timeout\": %d, \"mismatch\": %s}",
                mode.name().toLowerCase(Locale.ROOT), ProbeCommand.quote(Values.format(target)), connections, r.settings().sizeBytes(),
                r.seconds(), r.operations(), r.operations() / r.seconds(), r.bytes(),
                percentile(h, 50) / 1e3, percentile(h, 99) / 1e3, percentile(h, 99.9) / 1e3, h.getMaxValue() / 1e3,
                r.clean(), r.reset(), r.timeout(), r.mismatch() == null ? "null" : ProbeCommand.quote(r.mismatch()));
    }

    private static long percentile(Histogram histogram, double percentile) {
        return histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(percentile);
    }
}
