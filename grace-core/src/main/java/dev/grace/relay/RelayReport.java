package dev.grace.relay;

import dev.grace.CloseReport;
import java.time.Duration;

/**
 * How one relayed session ended, both legs together.
 *
 * @param client               the client leg's report
 * @param upstream             the upstream leg's report, or null if it never connected
 * @param firstFinished        which side ended its direction first, by FIN or RST
 * @param clientToUpstream     how the client's direction ended
 * @param upstreamToClient     how the upstream's direction ended
 * @param bytesToUpstream      bytes relayed from the client to the upstream
 * @param bytesToClient        bytes relayed from the upstream to the client
 * @param maxBufferedToUpstream most bytes ever in flight toward the upstream at once
 * @param maxBufferedToClient   most bytes ever in flight toward the client at once
 * @param duration             from the client's accept to the last leg's close
 */
public record RelayReport(
        CloseReport client,
        CloseReport upstream,
        Leg firstFinished,
        DirectionEnd clientToUpstream,
        DirectionEnd upstreamToClient,
        long bytesToUpstream,
        long bytesToClient,
        long maxBufferedToUpstream,
        long maxBufferedToClient,
        Duration duration) {

    /** One side of a relayed session. */
    public enum Leg { CLIENT, UPSTREAM, NONE }

    /** How one direction ended: its source's FIN carried across, or a reset (either side's). */
    public enum DirectionEnd { FIN, RST }

    /** Both directions ended with FIN: nothing was lost either way. */
    public boolean isClean() {
        return clientToUpstream == DirectionEnd.FIN && upstreamToClient == DirectionEnd.FIN
                && client.isClean() && upstream != null && upstream.isClean();
    }
}
