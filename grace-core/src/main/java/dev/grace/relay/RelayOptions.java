package dev.grace.relay;

import dev.grace.SourcePorts;
import java.time.Duration;
import java.util.Objects;

/**
 * How a relay behaves.
 *
 * @param maxBufferBytes   at most this many bytes in flight per direction: read from one side
 *                         only after the other side's write completed
 * @param finTimeout       once either direction finished, no byte moving either way for this
 *                         long aborts both legs (HAProxy's client-fin / server-fin)
 * @param connectTimeout   bound on connecting the upstream leg
 * @param upstreamRelease  how the upstream socket is released once both directions finished
 * @param upstreamSourcePorts local ports the upstream legs connect from, in turn; null: the
 *                         kernel chooses (see {@link SourcePorts} for what choosing buys)
 */
public record RelayOptions(int maxBufferBytes, Duration finTimeout, Duration connectTimeout, UpstreamRelease upstreamRelease,
        SourcePorts upstreamSourcePorts) {

    public static final int DEFAULT_MAX_BUFFER_BYTES = 64 * 1024;
    public static final int MIN_BUFFER_BYTES = 64;

    /** {@link #GRACEFUL}: close() after FINs both ways; {@link #RESET}: RST then, so the proxy keeps no TIME_WAIT. */
    public enum UpstreamRelease { GRACEFUL, RESET }

    public RelayOptions {
        if (maxBufferBytes < MIN_BUFFER_BYTES) {
            throw new IllegalArgumentException("max-buffer must be >= " + MIN_BUFFER_BYTES + " bytes, got " + maxBufferBytes);
        }
        requirePositive("fin-timeout", finTimeout);
        requirePositive("connect-timeout", connectTimeout);
        Objects.requireNonNull(upstreamRelease, "upstreamRelease");
    }

    public static RelayOptions defaults() {
        return new RelayOptions(DEFAULT_MAX_BUFFER_BYTES, Duration.ofSeconds(30), Duration.ofSeconds(5), UpstreamRelease.GRACEFUL, null);
    }

    public RelayOptions withMaxBufferBytes(int value) {
        return new RelayOptions(value, finTimeout, connectTimeout, upstreamRelease, upstreamSourcePorts);
    }

    public RelayOptions withFinTimeout(Duration value) {
        return new RelayOptions(maxBufferBytes, value, connectTimeout, upstreamRelease, upstreamSourcePorts);
    }

    public RelayOptions withConnectTimeout(Duration value) {
        return new RelayOptions(maxBufferBytes, finTimeout, value, upstreamRelease, upstreamSourcePorts);
    }

    public RelayOptions withUpstreamRelease(UpstreamRelease value) {
        return new RelayOptions(maxBufferBytes, finTimeout, connectTimeout, value, upstreamSourcePorts);
    }

    public RelayOptions withUpstreamSourcePorts(SourcePorts value) {
        return new RelayOptions(maxBufferBytes, finTimeout, connectTimeout, upstreamRelease, value);
    }

    private static void requirePositive(String name, Duration value) {
        Objects.requireNonNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be > 0, got " + value);
        }
    }
}
