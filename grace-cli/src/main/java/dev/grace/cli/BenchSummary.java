package dev.grace.cli;

import dev.grace.cli.bench.Load;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * What {@code grace bench} prints: a progress line a second, and at the end one summary line of
 * {@code key=value} fields or the same figures as JSON. Pure formatting, no sockets.
 */
final class BenchSummary {
    private BenchSummary() {}

    /** One second of progress: {@code echo   3.0s      12,345 req/s  ...  p99 120us}. */
    static String progress(Load.Mode mode, Load.Progress progress) {
        return String.format(Locale.ROOT, "%s %5.1fs  %,10d %s/s  %10s/s  p99 %s",
                name(mode), progress.seconds(), progress.operations(), unit(mode), mebibytes(progress.bytes()),
                micros(percentile(progress.interval(), 99)));
    }

    static String line(Load.Result r) {
        Histogram h = r.latencyNanos();
        Load.Settings settings = r.settings();
        return String.format(Locale.ROOT,
                "bench %s target=%s connections=%d size=%d seconds=%.2f operations=%d rate=%.0f/s bytes=%d throughput=%.1fMiB/s "
                        + "p50=%s p99=%s p999=%s max=%s clean=%d reset=%d timeout=%d",
                name(settings.mode()), Values.format(settings.target()), settings.connections(), settings.sizeBytes(), r.seconds(),
                r.operations(), r.operations() / r.seconds(), r.bytes(), r.bytes() / r.seconds() / 1048576.0,
                micros(percentile(h, 50)), micros(percentile(h, 99)), micros(percentile(h, 99.9)), micros(h.getMaxValue()),
                r.clean(), r.reset(), r.timeout());
    }

    /**
     * The summary's figures in this order, on one line: bench/run.sh, proxies.sh and
     * churn-stall.sh read {@code "seconds"}, {@code "rate"}, {@code "bytes"}, {@code "clean"},
     * {@code "reset"} and {@code "mismatch"} out of it with sed.
     */
    static String json(Load.Result r) {
        Histogram h = r.latencyNanos();
        Load.Settings settings = r.settings();
        return JsonLine.write(json -> {
            json.writeStartObject();
            json.writeStringField("mode", name(settings.mode()));
            json.writeStringField("target", Values.format(settings.target()));
            json.writeNumberField("connections", settings.connections());
            json.writeNumberField("size", settings.sizeBytes());
            json.writeNumberField("seconds", JsonLine.decimals(r.seconds(), 3));
            json.writeNumberField("operations", r.operations());
            json.writeNumberField("rate", JsonLine.decimals(r.operations() / r.seconds(), 1));
            json.writeNumberField("bytes", r.bytes());
            json.writeObjectFieldStart("latency_us");
            json.writeNumberField("p50", JsonLine.decimals(percentile(h, 50) / 1e3, 1));
            json.writeNumberField("p99", JsonLine.decimals(percentile(h, 99) / 1e3, 1));
            json.writeNumberField("p999", JsonLine.decimals(percentile(h, 99.9) / 1e3, 1));
            json.writeNumberField("max", JsonLine.decimals(h.getMaxValue() / 1e3, 1));
            json.writeEndObject();
            json.writeNumberField("clean", r.clean());
            json.writeNumberField("reset", r.reset());
            json.writeNumberField("timeout", r.timeout());
            json.writeStringField("mismatch", r.mismatch());
            json.writeEndObject();
        });
    }

    private static String name(Load.Mode mode) {
        return mode.name().toLowerCase(Locale.ROOT);
    }

    private static String unit(Load.Mode mode) {
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

    private static long percentile(Histogram histogram, double percentile) {
        return histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(percentile);
    }
}
