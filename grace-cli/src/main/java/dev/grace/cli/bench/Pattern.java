package dev.grace.cli.bench;

import io.netty.buffer.ByteBuf;

/**
 * The bytes a connection sends, a pure function of (connection, offset), so every echoed byte
 * can be checked without keeping what was sent.
 */
final class Pattern {
    private Pattern() {}

    static byte at(int connection, long offset) {
        long x = (connection + 1) * 0x9E3779B97F4A7C15L + offset * 0xBF58476D1CE4E5B9L;
        x ^= x >>> 31;
        return (byte) x;
    }

    /** Writes {@code length} pattern bytes starting at {@code offset}. */
    static void fill(ByteBuf buf, int connection, long offset, int length) {
        for (int i = 0; i < length; i++) {
            buf.writeByte(at(connection, offset + i));
        }
    }

    /** The offset of the first byte of {@code buf} that differs from the pattern, or -1. */
    static long firstMismatch(ByteBuf buf, int connection, long offset) {
        int start = buf.readerIndex();
        int length = buf.readableBytes();
        for (int i = 0; i < length; i++) {
            if (buf.getByte(start + i) != at(connection, offset + i)) {
                return offset + i;
            }
        }
        return -1;
    }
}
