package dev.grace.cli;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.SourcePorts;
import dev.grace.Transport;
import dev.grace.http.HttpProtocol;
import dev.grace.server.DrainReport;
import dev.grace.server.HandoffPoint;
import dev.grace.server.ListenerTakeover;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import dev.grace.server.ServerOptions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;

/**
 * What {@code grace server} and {@code grace proxy} share: the admin endpoint, the
 * {@code listening on} line, signals that drain (a second one aborts), the {@code drained:} line.
 */
final class Serving {
    private Serving() {}

    /**
     * Serves until a signal has drained the server, or a newcomer has taken its listeners over
     * and it has drained; returns the exit code.
     *
     * @param outcomeLines  one {@code closed ...} line per connection (the proxy prints its own lines)
     * @param requestCounts the lines add the HTTP request counts
     * @param activation    the socket systemd passed and what the command line asked for, or null to bind
     * @param handoff       where to take the listeners from and then serve handoffs ({@code --handoff}), or null
     * @param upstreamPorts the proxy's upstream source ports, for their metrics, or null
     */
    static int serve(String command, PrintWriter out, PrintWriter err, ServerOptions options, Protocol protocol,
            Integer adminPort, boolean outcomeLines, boolean requestCounts, SocketActivation activation, Path handoff,
            SourcePorts upstreamPorts) {
        if (handoff != null && (handoff.toString().isBlank() || handoff.getFileName() == null)) {
            err.println(command + ": Invalid value for option '--handoff': '" + handoff + "' is not a path to a socket file");
            return ExitCode.USAGE;
        }
        if (handoff != null && (options.transport() != Transport.EPOLL || !isLinux())) {
            err.println(command + ": Invalid value for option '--handoff': passing a listening socket needs the epoll transport on Linux"
                    + (isLinux() ? " (--transport " + options.transport() + ")" : " (this is " + System.getProperty("os.name") + ")"));
            return ExitCode.USAGE;
        }
        if (activation != null) {
            if (options.transport() != Transport.EPOLL) {
                err.println(command + ": Invalid value for option '--transport': '" + options.transport().name().toLowerCase(java.util.Locale.ROOT)
                        + "' cannot accept on the socket systemd passed (LISTEN_FDS); use epoll");
                return ExitCode.USAGE;
            }
            options = options.withInheritedListener(activation.fd());
        }
        ListenerTakeover takeover = null;
        if (handoff != null && activation == null) {
            try {
                takeover = ListenerTakeover.take(handoff, command, options.bindHost(), options.port()).orElse(null);
            } catch (IOException e) {
                err.println(command + ": " + e.getMessage());
                return ExitCode.IO_FAILURE;
            }
            if (takeover != null) {
                options = options.withInheritedListener(takeover.listenerFd());
            }
        }
        ServerMetrics metrics = new ServerMetrics();
        if (upstreamPorts != null) {
            metrics.upstreamSourcePorts(upstreamPorts);
        }
        Server[] started = new Server[1];
        AdminEndpoint admin = null;
        HandoffPoint point = null;
        try {
            if (adminPort != null) {
                int inheritedAdmin = takeover == null ? -1 : adminFd(takeover, adminPort);
                admin = AdminEndpoint.start(options.bindHost(), adminPort, metrics::scrape,
                        () -> started[0] != null && started[0].isReady(), options.transport(), inheritedAdmin);
                out.println("admin on " + Values.format(admin.address()));
            }
            started[0] = Server.start(options, protocol, listener(metrics, err, outcomeLines, requestCounts));
            String mismatch = activation == null ? null : activation.mismatch(command, started[0].localAddress());
            if (mismatch != null) {
                err.println(mismatch);
                return stopAfterFailure(started[0], admin, takeover, ExitCode.USAGE);
            }
            if (handoff != null) {
                point = HandoffPoint.open(handoff, command, started[0], admin == null ? Map.of() : Map.of("admin", admin.channel()));
            }
        } catch (IOException e) {
            err.println(command + ": " + e.getMessage());
            return stopAfterFailure(started[0], admin, takeover, ExitCode.IO_FAILURE);
        }
        Server server = started[0];
        server.stopOnSignals();
        if (takeover != null) {
            takeover.confirm(server);
        }
        out.println("listening on " + Values.format(server.localAddress()) + (takeover != null ? " (from handoff)" : ""));
        out.flush();
        if (point != null) {
            point.handedOver().thenAccept(pid -> {
                err.println(command + ": listeners handed over to pid " + pid + "; draining");
                err.flush();
            });
        }

        DrainReport report = server.terminationFuture().join();
        err.println(requestCounts ? Lines.drainedRequests(report) : Lines.drained(report));
        err.flush();
        if (admin != null) {
            admin.close();
        }
        return ExitCode.OK;
    }

    /** The admin listener the old process handed over, when it is the one asked for; else -1 to bind. */
    private static int adminFd(ListenerTakeover takeover, int adminPort) {
        var handed = takeover.address("admin");
        if (handed.isEmpty() || (adminPort != 0 && adminPort != handed.get().getPort())) {
            return -1;
        }
        return takeover.fd("admin").orElse(-1);
    }

    /**
     * Undoes a start that failed after something was set up. A takeover not yet confirmed leaves
     * the old process serving; whatever this server accepted meanwhile is drained.
     */
    private static int stopAfterFailure(Server server, AdminEndpoint admin, ListenerTakeover takeover, int exitCode) {
        if (takeover != null) {
            takeover.close();
        }
        if (server != null) {
            server.stop().join();
        }
        if (admin != null) {
            admin.close();
        }
        return exitCode;
    }

    private static boolean isLinux() {
        return System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("linux");
    }

    /** Metrics for the admin endpoint and, when asked, one outcome line per connection. */
    private static ServerListener listener(ServerMetrics metrics, PrintWriter err, boolean outcomeLines, boolean requestCounts) {
        return new ServerListener() {
            @Override
            public void accepted(Connection connection) {
                metrics.accepted(connection);
            }

            @Override
            public void closed(Connection connection, CloseReport report) {
                metrics.closed(connection, report);
                if (outcomeLines) {
                    err.println(requestCounts ? Lines.closedRequests(report, HttpProtocol.requests(connection)) : Lines.closed(report));
                }
            }

            @Override
            public void readinessChanged(boolean ready) {
                metrics.readinessChanged(ready);
            }
        };
    }
}
