package dev.grace.relay;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.Outcome;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import dev.grace.relay.RelayReport.DirectionEnd;
import dev.grace.relay.RelayReport.Leg;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays bytes both ways between two connections and carries each direction's end across:
 * FIN as a half-close after the relayed bytes are flushed, RST as an immediate abort of the
 * other leg. Each leg closes itself (through Grace) once both of its directions are done.
 * Both connections must live on the same event loop; everything here runs on it.
 */
public final class Relay {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private final Connection client;
    private final RelayListener listener;
    private final RelayOptions options;
    private final long startNanos;
    private long lastProgressNanos;
    private ScheduledFuture<?> finTimer;
    private final Direction toUpstream;
    private Direction toClient;
    private Connection upstream;
    private boolean started;
    private boolean failedToConnect;
    private Leg firstFinished = Leg.NONE;
    private CloseReport clientReport;
    private CloseReport upstreamReport;

    private Relay(Connection client, RelayListener listener, RelayOptions options, long startNanos) {
        this.client = client;
        this.listener = listener;
        this.options = options;
        this.startNanos = startNanos;
        this.lastProgressNanos = startNanos;
        this.toUpstream = new Direction(Leg.CLIENT, client, this, options.maxBufferBytes());
    }

    /**
     * The first step, as soon as the client is accepted (auto-read off): from now on what the
     * client sends is held for the upstream. Call on the client's event loop.
     */
    static Relay accept(Connection client, RelayListener listener, RelayOptions options) {
        Relay relay = new Relay(client, listener, options, System.nanoTime());
        client.channel().pipeline().addLast("relay", relay.toUpstream);
        client.closeFuture().whenComplete((report, failure) -> relay.legClosed(Leg.CLIENT, report));
        return relay;
    }

    /** The upstream leg exists (not yet connected), on the client's event loop, auto-read off. */
    void upstreamCreated(Connection upstreamLeg) {
        if (upstreamLeg.channel().eventLoop() != client.channel().eventLoop()) {
            throw new IllegalStateException("a relay's legs must share one event loop");
        }
        this.upstream = upstreamLeg;
        this.toClient = new Direction(Leg.UPSTREAM, upstreamLeg, this, options.maxBufferBytes());
        upstreamLeg.channel().pipeline().addLast("relay", toClient);
        upstreamLeg.closeFuture().whenComplete((report, failure) -> legClosed(Leg.UPSTREAM, report));
    }

    /** The upstream leg connected: relay both ways. */
    void upstreamConnected() {
        started = true;
        if (clientReport != null) {
            upstream.abort();
            return;
        }
        toUpstream.start(upstream);
        toClient.start(client);
    }

    /** The upstream could not be reached: reset the client. */
    void upstreamFailed(java.net.SocketAddress target, Throwable cause) {
        if (clientReport != null) {
            // The client went first and its end aborted the connect: not the upstream's fault.
            return;
        }
        failedToConnect = true;
        try {
            listener.upstreamFailed(client, target, cause);
        } finally {
            client.abort();
        }
    }

    /**
     * Relays between two connected legs on one event loop, both with auto-read off: the three
     * steps at once. Call on that event loop.
     */
    public static Relay start(Connection client, Connection upstream, RelayListener listener, RelayOptions options) {
        if (!client.channel().eventLoop().inEventLoop()) {
            throw new IllegalStateException("start a relay on its event loop");
        }
        Relay relay = accept(client, listener, options);
        relay.upstreamCreated(upstream);
        relay.upstreamConnected();
        return relay;
    }

    /**
     * A byte moved one way or the other. Only the fin timer reads the time, so until a direction
     * ends (and arms it) the clock is not read: two reads per relayed chunk saved.
     */
    void progress() {
        if (finTimer != null) {
            lastProgressNanos = System.nanoTime();
        }
    }

    void directionEnded(Direction direction) {
        if (firstFinished == Leg.NONE) {
            firstFinished = direction.sourceLeg;
        }
        if (finTimer == null) {
            lastProgressNanos = System.nanoTime();
            finTimer = client.channel().eventLoop().schedule(this::finTimerFired, options.finTimeout().toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Once a direction finished, the session as a whole must make progress within the fin
     * timeout: a byte relayed either way, or (epoll) the kernel still delivering on either leg.
     */
    private void finTimerFired() {
        if (clientReport != null && upstreamReport != null) {
            return;
        }
        long idle = System.nanoTime() - lastProgressNanos;
        for (Connection leg : new Connection[] {client, upstream}) {
            if (leg != null && leg.state() != dev.grace.ConnectionState.CLOSED) {
                idle = Math.min(idle, leg.idleNanos());
            }
        }
        long limit = options.finTimeout().toNanos();
        if (idle < limit) {
            finTimer = client.channel().eventLoop().schedule(this::finTimerFired, limit - idle, TimeUnit.NANOSECONDS);
            return;
        }
        log.debug("relay made no progress for {} ms after a FIN: aborting both legs", TimeUnit.NANOSECONDS.toMillis(idle));
        for (Connection leg : new Connection[] {client, upstream}) {
            if (leg != null) {
                leg.abortAtDeadline();
            }
        }
    }

    private void legClosed(Leg leg, CloseReport report) {
        if (leg == Leg.CLIENT) {
            clientReport = report;
            if (toClient != null) {
                toClient.targetClosed();
            }
        } else {
            upstreamReport = report;
            toUpstream.targetClosed();
        }
        if (!report.isClean()) {
            if (firstFinished == Leg.NONE) {
                firstFinished = leg;
            }
            // A reset (or any end that lost bytes) on one leg must reach the other at once, as RST.
            Connection other = leg == Leg.CLIENT ? upstream : client;
            log.debug("{} leg ended {}: resetting the other", leg, report.outcome());
            if (other != null) {
                other.abort();
            }
        }
        // A session whose upstream never connected was reported through upstreamFailed.
        if (clientReport != null && upstreamReport != null && finTimer != null) {
            finTimer.cancel(false);
        }
        if (clientReport != null && upstreamReport != null && !failedToConnect) {
            RelayReport relayed = new RelayReport(
                    clientReport, upstreamReport, firstFinished,
                    toUpstream.finCarried() || upstreamReport != null && upstreamReport.outcome() == Outcome.RELEASED_WITH_RESET
                            ? DirectionEnd.FIN : DirectionEnd.RST,
                    toClient != null && toClient.finCarried() ? DirectionEnd.FIN : DirectionEnd.RST,
                    toUpstream.bytes(), toClient == null ? 0 : toClient.bytes(),
                    toUpstream.maxInFlight(), toClient == null ? 0 : toClient.maxInFlight(),
                    Duration.ofNanos(System.nanoTime() - startNanos));
            try {
                listener.relayed(relayed);
            } catch (RuntimeException e) {
                log.warn("relay listener failed", e);
            }
        }
    }
}
