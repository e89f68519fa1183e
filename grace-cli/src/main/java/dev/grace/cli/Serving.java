package dev.grace.cli;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.http.HttpProtocol;
import dev.grace.server.DrainReport;
import dev.grace.server.Protocol;
import dev.grace.server.Server;
import dev.grace.server.ServerListener;
import dev.grace.server.ServerOptions;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * What {@code grace server} and {@code grace proxy} share: the admin endpoint, the
 * {@code listening on} line, signals that drain (a second one aborts), the {@code drained:} line.
 */
final class Serving {
    private Serving() {}

    /**
     * Serves until a signal has drained the server; returns the exit code.
     *
     * @param outcomeLines one {@code closed ...} line per connection (the proxy prints its own lines)
     * @param requestCounts the lines add the HTTP request counts
     * @param activation    the socket systemd passed and what the command line asked for, or null to bind
     */
    static int serve(String command, PrintWriter out, PrintWriter err, ServerOptions options, Protocol protocol,
            Integer adminPort, boolean outcomeLines, boolean requestCounts, SocketActivation activation) {
        if (activation != null) {
            if (options.transport() != dev.grace.Transport.EPOLL) {
                err.println(command + ": Invalid value for option '--transport': '" + options.transport().name().toLowerCase(java.util.Locale.ROOT)
                        + "' cannot accept on the socket systemd passed (LISTEN_FDS); use epoll");
                return ExitCode.USAGE;
            }
            options = options.withInheritedListener(activation.fd());
        }
        ServerMetrics metrics = new ServerMetrics();
        Server[] started = new Server[1];
        AdminEndpoint admin = null;
        try {
            if (adminPort != null) {
                admin = AdminEndpoint.start(options.bindHost(), adminPort, metrics::scrape,
                        () -> started[0] != null && started[0].isReady());
                out.println("admin on " + Values.format(admin.address()));
            }
            started[0] = Server.start(options, protocol, listener(metrics, err, outcomeLines, requestCounts));
        } catch (IOException e) {
            err.println(command + ": " + e.getMessage());
            if (admin != null) {
                admin.close();
            }
            return ExitCode.IO_FAILURE;
        }
        Server server = started[0];
        String mismatch = activation == null ? null : activation.mismatch(command, server.localAddress());
        if (mismatch != null) {
            err.println(mismatch);
            server.stop().join();
            if (admin != null) {
                admin.close();
            }
            return ExitCode.USAGE;
        }
        server.stopOnSignals();
        out.println("listening on " + Values.format(server.localAddress()));
        out.flush();

        DrainReport report = server.terminationFuture().join();
        err.println(requestCounts ? Lines.drainedRequests(report) : Lines.drained(report));
        err.flush();
        if (admin != null) {
            admin.close();
        }
        return ExitCode.OK;
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
