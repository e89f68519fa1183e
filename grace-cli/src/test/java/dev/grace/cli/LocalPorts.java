package dev.grace.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Ports for tests that give Grace a source port range of its own. */
final class LocalPorts {
    private LocalPorts() {}

    /**
     * The first of {@code count} consecutive ports that can be bound now, between 20000 and
     * 32000: below Linux's default ephemeral range, so no connect with a kernel-chosen port takes
     * one meanwhile.
     */
    static int freeRun(int count) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int low = ThreadLocalRandom.current().nextInt(20_000, 32_000 - count);
            if (bindable(low, count)) {
                return low;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports between 20000 and 32000");
    }

    private static boolean bindable(int low, int count) {
        for (int port = low; port < low + count; port++) {
            try (ServerSocket probe = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                // Bound: the port is free.
            } catch (IOException taken) {
                return false;
            }
        }
        return true;
    }
}
