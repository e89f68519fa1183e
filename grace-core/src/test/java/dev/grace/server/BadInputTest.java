package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.grace.ConnectionOptions;
import dev.grace.Grace;
import dev.grace.Transport;
import dev.grace.testing.TestServer;
import dev.grace.testkit.FdLeakCheck;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.BindException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every bad input is refused with one line that names the setting and the value. */
@ExtendWith(FdLeakCheck.class)
class BadInputTest {

    @Test
    void portOutOfRangeIsRefused() {
        assertThatThrownBy(() -> ServerOptions.defaults().withBind("127.0.0.1", 70000))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("port must be between 0 and 65535, got 70000");
        assertThatThrownBy(() -> ServerOptions.defaults().withBind("127.0.0.1", -1))
                .hasMessage("port must be between 0 and 65535, got -1");
    }

    @Test
    void anInheritedListenerNeedsEpoll() {
        assertThatThrownBy(() -> ServerOptions.defaults().withTransport(Transport.NIO).withInheritedListener(3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("accepting on an inherited listener (fd 3) needs the epoll transport, not nio");
    }

    @Test
    void anInheritedFdThatIsNoListeningSocketIsOneLineNamingIt() throws Exception {
        java.nio.file.Path file = java.nio.file.Files.createTempFile("grace", ".notasocket");
        try (java.io.FileInputStream open = new java.io.FileInputStream(file.toFile())) {
            // Any descriptor this JVM holds that is not a socket: take the highest one in /proc/self/fd that is this file.
            int fd = -1;
            try (var fds = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
                for (java.nio.file.Path link : (Iterable<java.nio.file.Path>) fds::iterator) {
                    try {
                        if (java.nio.file.Files.readSymbolicLink(link).equals(file)) {
                            fd = Integer.parseInt(link.getFileName().toString());
                        }
                    } catch (java.io.IOException gone) {
                        // The directory stream's own fd, closed by now.
                    }
                }
            }
            assertThat(fd).isPositive();
            int notASocket = fd;
            org.junit.jupiter.api.Assumptions.assumeTrue(Transport.EPOLL.isAvailable());
            assertThatThrownBy(() -> Server.start(ServerOptions.defaults().withTransport(Transport.EPOLL)
                    .withInheritedListener(notASocket), new EchoProtocol()))
                    .isInstanceOf(java.io.IOException.class)
                    .hasMessageStartingWith("cannot listen on inherited fd " + notASocket + ": ");
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    @Test
    void negativeOrZeroDurationsAreRefused() {
        assertThatThrownBy(() -> ServerOptions.defaults().withDrainTimeout(Duration.ofSeconds(-1)))
                .hasMessage("drain-timeout must be >= 0, got PT-1S");
        assertThatThrownBy(() -> ServerOptions.defaults().withDrainDelay(Duration.ofMillis(-5)))
                .hasMessage("drain-delay must be >= 0, got PT-0.005S");
        assertThatThrownBy(() -> ConnectionOptions.defaults().withCloseTimeout(Duration.ZERO))
                .hasMessage("close-timeout must be > 0, got PT0S");
        assertThatThrownBy(() -> ConnectionOptions.defaults().withIdleTimeout(Duration.ofSeconds(-2)))
                .hasMessage("idle-timeout must be >= 0, got PT-2S");
        assertThatThrownBy(() -> ServerOptions.defaults().withIoThreads(0))
                .hasMessage("io-threads must be >= 1, got 0");
    }

    @Test
    void unknownTransportIsRefused() {
        assertThatThrownBy(() -> Transport.parse("kqueue"))
                .hasMessage("transport must be auto, epoll, io_uring or nio, got kqueue");
        assertThat(Transport.parse("NIO")).isEqualTo(Transport.NIO);
        assertThat(Transport.parse("auto")).isEqualTo(Transport.auto());
    }

    @Test
    void graceRefusesAChannelThatCannotHalfClose() {
        EmbeddedChannel notTcp = new EmbeddedChannel();
        try {
            assertThatThrownBy(() -> Grace.install(notTcp))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Grace needs a TCP channel that can half-close");
        } finally {
            notTcp.finishAndReleaseAll();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void portInUseFailsNamingTheAddress(Transport transport) throws Exception {
        try (TestServer first = TestServer.start(transport, new EchoProtocol())) {
            ServerOptions same = ServerOptions.defaults().withTransport(transport).withBind("127.0.0.1", first.port());
            assertThatThrownBy(() -> Server.start(same, new EchoProtocol()))
                    .isInstanceOf(BindException.class)
                    .hasMessageStartingWith("cannot listen on 127.0.0.1:" + first.port() + ": ")
                    .hasMessageContaining("in use");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void addressNotOfThisMachineFailsNamingTheAddress(Transport transport) {
        // 192.0.2.0/24 is TEST-NET-1: never assigned to a host.
        ServerOptions elsewhere = ServerOptions.defaults().withTransport(transport).withBind("192.0.2.1", 0);
        assertThatThrownBy(() -> Server.start(elsewhere, new EchoProtocol()))
                .isInstanceOf(BindException.class)
                .hasMessageStartingWith("cannot listen on 192.0.2.1:0: ");
    }
}
