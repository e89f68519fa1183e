package dev.grace.cli.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * One connection's account: the pattern bytes it sent and how many came back, checked. Decides
 * whether an echo or a FIN is a data mismatch, and words it; touches no socket. Used from the
 * connection's event loop only.
 */
final class EchoLedger {
    private final int connection;
    private final int chunkBytes;
    private long sent;
    private long received;

    EchoLedger(int connection, int chunkBytes) {
        this.connection = connection;
        this.chunkBytes = chunkBytes;
    }

    /** The next chunk of this connection's pattern, counted as sent. */
    ByteBuf nextChunk(ByteBufAllocator alloc) {
        ByteBuf buf = alloc.buffer(chunkBytes);
        Pattern.fill(buf, connection, sent, chunkBytes);
        sent += chunkBytes;
        return buf;
    }

    /**
     * Checks echoed bytes against the pattern, and that they do not go past what was sent; counts
     * them when they are right. Leaves {@code buf} as it was.
     *
     * @return null, or {@code data mismatch on connection N at byte M}
     */
    String echoed(ByteBuf buf) {
        long wrong = Pattern.firstMismatch(buf, connection, received);
        if (wrong >= 0 || received + buf.readableBytes() > sent) {
            return mismatchAt(wrong >= 0 ? wrong : sent, "");
        }
        received += buf.readableBytes();
        return null;
    }

    /**
     * The server's FIN arrived. With echo still owed the stream was truncated, and would look
     * complete to a client that trusted the FIN.
     *
     * @return null, or the mismatch at the first byte that never came back
     */
    String finArrived() {
        return received < sent ? mismatchAt(received, ": the server's FIN came after " + received + " of " + sent + " bytes") : null;
    }

    /** Whether every byte sent so far came back. */
    boolean allEchoed() {
        return received == sent;
    }

    private String mismatchAt(long offset, String why) {
        return "data mismatch on connection " + connection + " at byte " + offset + why;
    }
}
