package dev.grace.internal;

import io.netty.channel.unix.Errors;
import java.io.IOException;
import java.util.Locale;

/**
 * Tells a peer reset from other I/O failures. With {@code ALLOW_HALF_CLOSURE} a reset reaches
 * the pipeline as an exception followed by input shutdown, exactly like a FIN would; the
 * exception is the only evidence, so it must be recognised on both transports.
 */
final class Resets {
    private Resets() {}

    /**
     * True for ECONNRESET, and for EPIPE, which Linux reports on writes after a reset was
     * already consumed by an earlier call.
     */
    static boolean isPeerReset(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof Errors.NativeIoException nativeFailure) {
                int errno = nativeFailure.expectedErr();
                if (errno == Errors.ERRNO_ECONNRESET_NEGATIVE || errno == Errors.ERRNO_EPIPE_NEGATIVE) {
                    return true;
                }
            }
            if (t instanceof IOException && t.getMessage() != null) {
                // The JDK's wording, identical on 17 and 25: "Connection reset",
                // "Connection reset by peer", "Broken pipe".
                String message = t.getMessage().toLowerCase(Locale.ROOT);
                if (message.contains("connection reset") || message.contains("broken pipe")) {
                    return true;
                }
            }
        }
        return false;
    }
}
