package dev.grace.cli;

import dev.grace.Connection;
import dev.grace.ConnectionOptions;
import dev.grace.SourcePorts;
import dev.grace.relay.RelayListener;
import dev.grace.relay.RelayOptions;
import dev.grace.relay.RelayProtocol;
import dev.grace.relay.RelayReport;
import dev.grace.server.ServerOptions;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code grace proxy --listen HOST:PORT --to HOST:PORT}: a TCP relay that carries FIN and RST
 * across, one line per relayed session, and drains on SIGTERM or SIGINT like the server.
 */
@Command(name = "proxy", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"TCP relay that carries each side's FIN and RST across, and drains on SIGTERM or SIGINT.",
                "Sessions are never cut while they relay or sit idle; the drain deadline aborts what is left."})
final class ProxyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--listen", required = true, converter = Values.HostPort.class, paramLabel = "HOST:PORT",
            description = "Address to accept clients on; port 0 picks a free one.")
    InetSocketAddress listen;

    @Option(names = "--to", required = true, converter = Values.HostPort.class, paramLabel = "HOST:PORT",
            description = "Upstream server each client is relayed to.")
    InetSocketAddress to;

    @Option(names = "--drain-timeout", defaultValue = "30s", paramLabel = "DURATION",
            description = "Deadline of a drain, counted after the drain delay; what is left is aborted on both legs (default: ${DEFAULT-VALUE}).")
    Duration drainTimeout;

    @Option(names = "--drain-delay", defaultValue = "0s", paramLabel = "DURATION",
            description = "On a stop, keep accepting this long while /ready says 503 (default: ${DEFAULT-VALUE}).")
    Duration drainDelay;

    @Option(names = "--fin-timeout", defaultValue = "30s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "Once either direction finished, abort both legs if no byte moves for this long (default: ${DEFAULT-VALUE}).")
    Duration finTimeout;

    @Option(names = "--connect-timeout", defaultValue = "5s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "Bound on connecting to the upstream; the client is reset when it passes (default: ${DEFAULT-VALUE}).")
    Duration connectTimeout;

    @Option(names = "--close-timeout", defaultValue = "10s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "Bound on every lingering close outside a drain (default: ${DEFAULT-VALUE}).")
    Duration closeTimeout;

    @Option(names = "--max-buffer", defaultValue = "64k", converter = Values.Size.class, paramLabel = "SIZE",
            description = "Most bytes in flight per direction of a session (default: ${DEFAULT-VALUE}).")
    int maxBuffer;

    @Option(names = "--upstream-release", defaultValue = "graceful", paramLabel = "graceful|reset",
            description = "When the upstream finished first: answer its FIN with ours (graceful) or release with RST so neither side keeps TIME_WAIT (reset) (default: ${DEFAULT-VALUE}).")
    RelayOptions.UpstreamRelease upstreamRelease;

    @Option(names = "--upstream-source-ports", converter = Values.PortRange.class, paramLabel = "LOW-HIGH",
            description = "Connect upstream from these local ports, in turn, bound with SO_REUSEADDR so that a port's TIME_WAIT is taken over at once (needs TCP timestamps; keep the range for Grace alone). Default: the kernel chooses.")
    SourcePorts upstreamSourcePorts;

    @Option(names = "--admin-port", converter = Values.Port.class, paramLabel = "PORT",
            description = "Serve /metrics, /ready and /live on this port of the listen address; 0 picks a free one.")
    Integer adminPort;

    @Option(names = "--handoff", paramLabel = "PATH",
            description = "Restart without refusing a connect: take the listening sockets of the grace proxy serving handoffs at this Unix socket (it then drains), or bind as usual when none does; then serve handoffs here. Epoll on Linux only.")
    java.nio.file.Path handoff;

    @Mixin
    TransportOption transport;

    @Mixin
    LogOption log = new LogOption(LogLevel.INFO);

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxBuffer < RelayOptions.MIN_BUFFER_BYTES) {
            err.println("proxy: Invalid value for option '--max-buffer': '" + maxBuffer + "' must be at least "
                    + RelayOptions.MIN_BUFFER_BYTES + " bytes");
            return ExitCode.USAGE;
        }
        RelayOptions relay;
        ConnectionOptions connection;
        try {
            relay = new RelayOptions(maxBuffer, finTimeout, connectTimeout, upstreamRelease, upstreamSourcePorts);
            connection = ConnectionOptions.defaults().withCloseTimeout(closeTimeout);
        } catch (IllegalArgumentException e) {
            err.println("proxy: " + e.getMessage());
            return ExitCode.USAGE;
        }
        ServerOptions options = ServerOptions.defaults()
                .withBind(listen.getAddress().getHostAddress(), listen.getPort())
                .withTransport(transport.chosen())
                .withDrainDelay(drainDelay)
                .withDrainTimeout(drainTimeout)
                .withConnection(connection);
        RelayProtocol protocol = new RelayProtocol(to, relay, connection, sessionLines(err));
        int fd = SocketActivation.listenFd(System.getenv(), ProcessHandle.current().pid());
        SocketActivation activation = fd < 0 ? null
                : new SocketActivation(fd, "--listen", listen.getAddress().getHostAddress(), "--listen", listen.getPort());
        return Serving.serve("proxy", out, err, options, protocol, adminPort, false, false, activation, handoff, upstreamSourcePorts);
    }

    private RelayListener sessionLines(PrintWriter err) {
        boolean info = log.shows(LogLevel.INFO);
        boolean warn = log.shows(LogLevel.WARN);
        return new RelayListener() {
            @Override
            public void relayed(RelayReport report) {
                if (info) {
                    err.println(Lines.relayed(report));
                }
            }

            @Override
            public void upstreamFailed(Connection client, SocketAddress upstream, Throwable cause) {
                if (warn) {
                    err.println(Lines.upstreamFailed(client, (InetSocketAddress) upstream, cause));
                }
            }
        };
    }
}
