package dev.grace.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for tests: one free now, one nobody listens on, and runs of consecutive ports
 * for tests that choose the ports of their outgoing sockets themselves.
 */
public final class Ports {
    private static final int FLOOR = 10_000;

    private Ports() {}

    /** A loopback port that was free a moment ago (for a program that takes its port as an argument). */
    public static int free() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A loopback address whose listener just closed: connecting to it is refused (RST to the SYN). */
    public static InetSocketAddress refused() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), free());
    }

    /**
     * The first of {@code count} consecutive ports that can be bound now, below the kernel's
     * ephemeral range, so no connect with a kernel-chosen port can take one meanwhile.
     */
    public static int freeRunBelowEphemeral(int count) {
        int ceiling = ephemeralLow() - count;
        if (ceiling <= FLOOR) {
            throw new IllegalStateException("no room below the ephemeral range for " + count + " ports");
        }
        for (int attempt = 0; attempt < 200; attempt++) {
            int low = ThreadLocalRandom.current().nextInt(FLOOR, ceiling);
            if (bindable(low, count)) {
                return low;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports below the ephemeral range");
    }

    private static boolean bindable(int low, int count) {
        for (int port = low; port < low + count; port++) {
            try (ServerSocket probe = new ServerSocket()) {
                probe.setReuseAddress(false);
                probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            } catch (IOException taken) {
                return false;
            }
        }
        return true;
    }

    private static int ephemeralLow() {
        // Files.readString gets only the first byte of this procfs file (it reports size 0).
        try (BufferedReader range = Files.newBufferedReader(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))) {
            return Integer.parseInt(range.readLine().trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
