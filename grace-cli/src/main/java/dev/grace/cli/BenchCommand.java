package dev.grace.cli;

import dev.grace.SourcePorts;
import dev.grace.cli.bench.Load;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;
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
        Load.Result result = new Load(new Load.Settings(mode, target, connections, bytes, duration, transport.chosen(), sourcePorts)).run(progress -> {
            String line = BenchSummary.progress(mode, progress);
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
        out.println(json ? BenchSummary.json(result) : BenchSummary.line(result));
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
}
