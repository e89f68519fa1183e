package dev.grace.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.Socket;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class that leaves file descriptors open: counts {@code /proc/self/fd} before the
 * class (after both transports were loaded once, so their one-time descriptors are not
 * mistaken for leaks) and waits, bounded, for the count to return to that baseline after it.
 */
public final class FdLeakCheck implements BeforeAllCallback, AfterAllCallback {
    private static final Path FDS = Path.of("/proc/self/fd");
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(FdLeakCheck.class);
    private static final long SETTLE_MILLIS = 10_000;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        if (!Files.isDirectory(FDS)) {
            return;
        }
        warmUpTransports();
        context.getStore(NAMESPACE).put(Baseline.class, new Baseline(openDescriptors()));
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        Baseline stored = context.getStore(NAMESPACE).get(Baseline.class, Baseline.class);
        if (stored == null) {
            return;
        }
        List<String> baseline = stored.descriptors();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
        List<String> now = openDescriptors();
        while (now.size() > baseline.size() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            now = openDescriptors();
        }
        List<String> leaked = new ArrayList<>(now);
        leaked.removeAll(baseline);
        leaked.replaceAll(FdLeakCheck::describe);
        assertThat(now.size())
                .as("open file descriptors after %s (baseline %d); new ones: %s",
                        context.getDisplayName(), baseline.size(), leaked)
                .isLessThanOrEqualTo(baseline.size());
    }

    /** For a socket, its line in /proc/net/tcp (addresses in hex, state in hex: 01 ESTABLISHED, 0A LISTEN). */
    private static String describe(String target) {
        if (!target.startsWith("socket:[")) {
            return target;
        }
        String inode = target.substring("socket:[".length(), target.length() - 1);
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            try {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] fields = line.trim().split("\\s+");
                    if (fields.length > 9 && fields[9].equals(inode)) {
                        return target + " tcp " + fields[1] + " -> " + fields[2] + " state " + fields[3];
                    }
                }
            } catch (IOException e) {
                return target;
            }
        }
        return target + " (not TCP)";
    }

    private record Baseline(List<String> descriptors) {}

    /** What each open descriptor points to ("socket:[123]", "anon_inode:[eventpoll]", a path). */
    public static List<String> openDescriptors() throws IOException {
        List<String> targets = new ArrayList<>();
        try (Stream<Path> fds = Files.list(FDS)) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    targets.add(Files.readSymbolicLink(fd).toString());
                } catch (IOException e) {
                    // Closed between list and read (the listing's own descriptor among them).
                }
            }
        }
        return targets;
    }

    /**
     * One connection on each Netty transport Grace runs on, and one through the JDK's own
     * sockets: the JDK and Netty open some descriptors once, lazily, and keep them (JDK 25 does,
     * for example).
     */
    private static void warmUpTransports() throws IOException {
        Map<Class<? extends ServerChannel>, IoHandlerFactory> transports = new LinkedHashMap<>();
        if (Epoll.isAvailable()) {
            transports.put(EpollServerSocketChannel.class, EpollIoHandler.newFactory());
        }
        transports.put(NioServerSocketChannel.class, NioIoHandler.newFactory());
        for (Map.Entry<Class<? extends ServerChannel>, IoHandlerFactory> transport : transports.entrySet()) {
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("warm-up", true), transport.getValue());
            try {
                Channel listener = new ServerBootstrap().group(group).channel(transport.getKey())
                        .childHandler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel child) {
                                // Nothing to say: the client closes at once.
                            }
                        })
                        .bind("127.0.0.1", 0).syncUninterruptibly().channel();
                try (Socket socket = new Socket()) {
                    socket.connect(listener.localAddress());
                }
                try (SocketChannel channel = SocketChannel.open(listener.localAddress())) {
                    channel.configureBlocking(false);
                }
                listener.close().syncUninterruptibly();
            } finally {
                group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
            }
        }
    }
}
