package dev.grace.testing;

import dev.grace.Transport;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The transports every socket scenario runs on. On Linux x86_64 epoll must load: a build
 * that silently ran only NIO there would hide half of what Grace claims. io_uring runs only with
 * {@code -Dgrace.test.io_uring=true}: on Netty 4.2.17 it misses an upstream's reset in the relay
 * in about half the runs of {@code RelayTest.backendResetReachesTheClientWithinASecond}, so it
 * is not a transport Grace offers (see {@link Transport#IO_URING}).
 */
public final class Transports {
    private Transports() {}

    public static Stream<Transport> all() {
        boolean epollExpected = System.getProperty("os.name").toLowerCase(Locale.ROOT).contains("linux")
                && Arrays.asList("amd64", "x86_64").contains(System.getProperty("os.arch"));
        if (epollExpected && !Transport.EPOLL.isAvailable()) {
            throw new IllegalStateException("epoll should load on Linux x86_64", Transport.EPOLL.unavailabilityCause());
        }
        boolean ioUring = Boolean.getBoolean("grace.test.io_uring");
        return Arrays.stream(Transport.values())
                .filter(transport -> transport != Transport.IO_URING || ioUring)
                .filter(Transport::isAvailable);
    }
}
