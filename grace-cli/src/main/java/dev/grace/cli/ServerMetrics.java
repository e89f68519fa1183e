package dev.grace.cli;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Outcome;
import dev.grace.SourcePorts;
import dev.grace.server.ServerListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The server's Prometheus metrics, fed by its listener hooks. Byte counters grow when a
 * connection closes (from its close report), so a long-lived connection shows up at its end.
 * Called on event loops; Micrometer's meters are thread-safe.
 */
final class ServerMetrics implements ServerListener {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger draining = new AtomicInteger();
    private final Counter accepted;
    private final Counter bytesReceived;
    private final Counter bytesSent;
    private final Counter bytesDiscarded;
    private final Map<Outcome, Counter> closed = new EnumMap<>(Outcome.class);

    ServerMetrics() {
        Gauge.builder("grace.connections.open", open, AtomicInteger::get)
                .description("Connections open now").register(registry);
        Gauge.builder("grace.draining", draining, AtomicInteger::get)
                .description("1 from the moment a drain starts").register(registry);
        accepted = Counter.builder("grace.connections.accepted").description("Connections accepted").register(registry);
        bytesReceived = Counter.builder("grace.bytes.received").description("Bytes read from closed connections").register(registry);
        bytesSent = Counter.builder("grace.bytes.sent").description("Bytes written by closed connections").register(registry);
        bytesDiscarded = Counter.builder("grace.bytes.discarded")
                .description("Bytes dropped: written but never sent, or read by lingering close").register(registry);
        for (Outcome outcome : Outcome.values()) {
            closed.put(outcome, Counter.builder("grace.connections.closed").tag("outcome", outcome.name())
                    .description("Connections closed, by outcome").register(registry));
        }
    }

    /** A proxy's upstream source ports: how many ports its connects tried, the kernel refused, or left to the kernel. */
    void upstreamSourcePorts(SourcePorts ports) {
        FunctionCounter.builder("grace.upstream.source.port.attempts", ports, SourcePorts::attempts)
                .description("Upstream connects attempted from a source port, each port tried counting once").register(registry);
        FunctionCounter.builder("grace.upstream.source.port.refusals", ports, SourcePorts::refusals)
                .description("Source ports the kernel refused (held by another socket, or a TIME_WAIT it would not take over); each was set aside and the next tried").register(registry);
        FunctionCounter.builder("grace.upstream.source.port.kernel.choices", ports, SourcePorts::kernelChoices)
                .description("Upstream connects left to a port the kernel chose: every port of the range leased or set aside, or too many refused").register(registry);
    }

    @Override
    public void accepted(Connection connection) {
        open.incrementAndGet();
        accepted.increment();
    }

    @Override
    public void closed(Connection connection, CloseReport report) {
        open.decrementAndGet();
        closed.get(report.outcome()).increment();
        bytesReceived.increment(report.bytesIn());
        bytesSent.increment(report.bytesOut());
        bytesDiscarded.increment(report.discardedUnsent() + report.discardedInbound());
    }

    @Override
    public void readinessChanged(boolean ready) {
        draining.set(ready ? 0 : 1);
    }

    /** Prometheus text exposition. */
    String scrape() {
        return registry.scrape();
    }
}
