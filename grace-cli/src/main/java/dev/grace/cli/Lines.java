package dev.grace.cli;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.relay.RelayReport;
import dev.grace.Outcome;
import dev.grace.Side;
import dev.grace.server.DrainReport;
import java.net.InetSocketAddress;
import java.util.Locale;

/** The greppable {@code key=value} lines an operator reads on stderr. */
final class Lines {
    private Lines() {}

    /** {@code closed peer=127.0.0.1:53122 outcome=FIN_BOTH_WAYS first=peer in=1048576 out=1048576 discarded=0 ms=12} */
    static String closed(CloseReport report) {
        return "closed peer=" + address(report.remote())
                + " outcome=" + report.outcome()
                + " first=" + side(report.firstCloser())
                + " in=" + report.bytesIn()
                + " out=" + report.bytesOut()
                + " discarded=" + (report.discardedUnsent() + report.discardedInbound())
                + " ms=" + report.duration().toMillis();
    }

    /** {@code drained: graceful=3 aborted_at_deadline=1 reset_by_peer=0 aborted=0 error=0 discarded=0 ms=512} */
    static String drained(DrainReport report) {
        return "drained: graceful=" + report.graceful()
                + " aborted_at_deadline=" + report.count(Outcome.ABORTED_AT_DEADLINE)
                + " reset_by_peer=" + report.count(Outcome.PEER_RESET)
                + " aborted=" + report.count(Outcome.ABORTED)
                + " error=" + report.count(Outcome.ERROR)
                + " discarded=" + report.bytesDiscarded()
                + " ms=" + report.duration().toMillis();
    }

    /** The outcome line of an HTTP connection: {@link #closed} and {@code requests=N}. */
    static String closedRequests(CloseReport report, int requests) {
        return closed(report) + " requests=" + requests;
    }

    /** The drain line of an HTTP server: {@link #drained} and {@code requests_finished=N goodbyes=N}, counted from the drain's start. */
    static String drainedRequests(DrainReport report) {
        return drained(report) + " requests_finished=" + report.requests().finished() + " goodbyes=" + report.requests().goodbyes()
                + " in_flight_at_start=" + report.requests().inFlight() + " closed_idle=" + report.requests().closedIdle()
                + " discarded_after_goodbye=" + report.requests().discardedAfterGoodbye();
    }

    /**
     * {@code relayed client=127.0.0.1:5000 upstream=127.0.0.1:6379 first=client client_to_upstream=FIN
     * upstream_to_client=FIN bytes_to_upstream=14 bytes_to_client=5 client=FIN_BOTH_WAYS upstream=FIN_BOTH_WAYS ms=3}
     */
    static String relayed(RelayReport report) {
        return "relayed client=" + address(report.client().remote())
                + " upstream=" + (report.upstream() == null ? "-" : address(report.upstream().remote()))
                + " first=" + report.firstFinished().name().toLowerCase(Locale.ROOT)
                + " client_to_upstream=" + report.clientToUpstream()
                + " upstream_to_client=" + report.upstreamToClient()
                + " bytes_to_upstream=" + report.bytesToUpstream()
                + " bytes_to_client=" + report.bytesToClient()
                + " client_outcome=" + report.client().outcome()
                + " upstream_outcome=" + (report.upstream() == null ? "-" : report.upstream().outcome())
                + " ms=" + report.duration().toMillis();
    }

    /** {@code upstream failed client=127.0.0.1:5000 upstream=127.0.0.1:6379 reason="Connection refused"} */
    static String upstreamFailed(Connection client, InetSocketAddress upstream, Throwable cause) {
        return "upstream failed client=" + address(client.channel().remoteAddress())
                + " upstream=" + Values.format(upstream)
                + " reason=\"" + Values.systemReason(cause) + "\"";
    }

    private static String address(java.net.SocketAddress address) {
        return address instanceof InetSocketAddress inet ? Values.format(inet) : String.valueOf(address);
    }

    private static String side(Side side) {
        return side.name().toLowerCase(Locale.ROOT);
    }
}
