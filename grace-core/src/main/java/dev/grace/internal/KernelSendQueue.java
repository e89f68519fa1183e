package dev.grace.internal;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * How many bytes we wrote that the peer has not acknowledged yet, sent or not (what the
 * SIOCOUTQ ioctl answers), read from the {@code tx_queue} column of {@code /proc/net/tcp}:
 * neither Netty nor the JDK can make that ioctl, and TCP_INFO's unacked count misses bytes held
 * back by a closed window. Reads a file whose length grows with the number of sockets, so it is
 * for rare decisions (a release with RST), not for every write.
 */
final class KernelSendQueue {
    private static final List<Path> TABLES = List.of(Path.of("/proc/self/net/tcp"), Path.of("/proc/self/net/tcp6"));

    private KernelSendQueue() {}

    /** Unacknowledged bytes of the connection {@code local}–{@code remote}, or -1 when it cannot be told. */
    static long unacknowledgedBytes(SocketAddress local, SocketAddress remote) {
        if (!(local instanceof InetSocketAddress l) || !(remote instanceof InetSocketAddress r) || l.getAddress() == null || r.getAddress() == null) {
            return -1;
        }
        // Netty's native sockets are IPv6 sockets, so an IPv4 peer shows in tcp6, IPv4-mapped.
        long found = find(TABLES.get(0), key(l), key(r));
        return found >= 0 ? found : find(TABLES.get(1), mappedKey(l), mappedKey(r));
    }

    private static long find(Path table, String localKey, String remoteKey) {
        try {
            for (String line : Files.readAllLines(table)) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length > 4 && fields[1].equalsIgnoreCase(localKey) && fields[2].equalsIgnoreCase(remoteKey)) {
                    return Long.parseLong(fields[4].substring(0, fields[4].indexOf(':')), 16);
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or the table moved: unknown.
        }
        return -1;
    }

    /** An IPv4 address as tcp6 shows it (::ffff:a.b.c.d); IPv6 addresses as they are. */
    static String mappedKey(InetSocketAddress address) {
        if (!(address.getAddress() instanceof Inet4Address)) {
            return key(address);
        }
        byte[] v4 = address.getAddress().getAddress();
        return "0000000000000000FFFF0000" + word(v4, 0) + String.format(Locale.ROOT, ":%04X", address.getPort());
    }

    /** The kernel's notation: each 32-bit word of the address in host (little-endian) order, then the port. */
    static String key(InetSocketAddress address) {
        byte[] bytes = address.getAddress().getAddress();
        if (address.getAddress() instanceof Inet4Address) {
            return word(bytes, 0) + String.format(Locale.ROOT, ":%04X", address.getPort());
        }
        StringBuilder ipv6 = new StringBuilder();
        for (int i = 0; i < 16; i += 4) {
            ipv6.append(word(bytes, i));
        }
        return ipv6 + String.format(Locale.ROOT, ":%04X", address.getPort());
    }

    private static String word(byte[] bytes, int offset) {
        return String.format(Locale.ROOT, "%02X%02X%02X%02X", bytes[offset + 3], bytes[offset + 2], bytes[offset + 1], bytes[offset]);
    }
}
