package dev.grace.cli;

import dev.grace.ConnectionOptions;
import dev.grace.cli.http.Routes;
import dev.grace.http.HttpProtocol;
import dev.grace.server.EchoProtocol;
import dev.grace.server.ServerOptions;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code grace server}: the echo server. Prints {@code listening on HOST:PORT} when ready, one
 * outcome line per connection, drains on SIGTERM or SIGINT (a second signal aborts the rest),
 * prints the {@code drained:} line and exits 0.
 */
@Command(name = "server", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Echo or HTTP server that ends every connection correctly and drains on SIGTERM or SIGINT.",
                "A second signal aborts whatever the drain has not finished."})
final class ServerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--bind", defaultValue = "127.0.0.1", converter = Values.BindAddress.class, paramLabel = "HOST",
            description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--port", defaultValue = "7000", converter = Values.Port.class, paramLabel = "PORT",
            description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--protocol", defaultValue = "echo", converter = Values.ProtocolName.class, paramLabel = "echo|http",
            description = "What to serve: echo, or HTTP/1.1 and HTTP/2 cleartext with the routes /, /delay/MS, /bytes/N, POST /echo and /ws (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--close-spread", defaultValue = "0s", paramLabel = "DURATION",
            description = "Spread a drain's closes of idle connections over this window (at most half the drain timeout), so clients do not all reconnect at once (default: ${DEFAULT-VALUE}).")
    Duration closeSpread;

    @Option(names = "--drain-timeout", defaultValue = "30s", paramLabel = "DURATION",
            description = "Deadline of a drain, counted after the drain delay; what is left is aborted (default: ${DEFAULT-VALUE}).")
    Duration drainTimeout;

    @Option(names = "--drain-delay", defaultValue = "0s", paramLabel = "DURATION",
            description = "On a stop, keep accepting this long while /ready says 503, so load balancers deregister us first (default: ${DEFAULT-VALUE}).")
    Duration drainDelay;

    @Option(names = "--idle-timeout", defaultValue = "off", converter = Values.DurationOrOff.class, paramLabel = "DURATION",
            description = "Close a connection gracefully after this long without traffic; off: never (default: ${DEFAULT-VALUE}).")
    Duration idleTimeout;

    @Option(names = "--close-timeout", defaultValue = "10s", converter = Values.PositiveDuration.class, paramLabel = "DURATION",
            description = "Bound on every lingering close outside a drain; then the connection is aborted (default: ${DEFAULT-VALUE}).")
    Duration closeTimeout;

    @Option(names = "--admin-port", converter = Values.Port.class, paramLabel = "PORT",
            description = "Serve /metrics, /ready and /live on this port of the bind address; 0 picks a free one.")
    Integer adminPort;

    @Option(names = "--handoff", paramLabel = "PATH",
            description = "Restart without refusing a connect: take the listening sockets of the grace server serving handoffs at this Unix socket (it then drains), or bind as usual when none does; then serve handoffs here. Epoll on Linux only.")
    java.nio.file.Path handoff;

    @Mixin
    TransportOption transport;

    @Mixin
    LogOption log = new LogOption(LogLevel.INFO);

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ServerOptions options = ServerOptions.defaults()
                .withBind(bind, port)
                .withTransport(transport.chosen())
                .withDrainDelay(drainDelay)
                .withDrainTimeout(drainTimeout)
                .withIdleCloseWindow(closeSpread)
                .withConnection(ConnectionOptions.defaults().withCloseTimeout(closeTimeout).withIdleTimeout(idleTimeout));
        if (closeSpread.compareTo(drainTimeout.dividedBy(2)) > 0) {
            err.println("server: --close-spread " + Values.formatDuration(closeSpread) + " is over half the drain timeout; closes are spread over "
                    + Values.formatDuration(drainTimeout.dividedBy(2)));
        }

        boolean http = protocol.equals("http");
        return Serving.serve("server", out, err, options, http ? new HttpProtocol(Routes::new) : new EchoProtocol(), adminPort,
                log.shows(LogLevel.INFO), http, activation(), handoff, null);
    }

    /** Under systemd socket activation: fd 3, checked against --bind and --port when given. */
    private SocketActivation activation() {
        int fd = SocketActivation.listenFd(System.getenv(), ProcessHandle.current().pid());
        if (fd < 0) {
            return null;
        }
        var parsed = spec.commandLine().getParseResult();
        return new SocketActivation(fd, "--bind", parsed.hasMatchedOption("--bind") ? bind : null,
                "--port", parsed.hasMatchedOption("--port") ? port : null);
    }
}
