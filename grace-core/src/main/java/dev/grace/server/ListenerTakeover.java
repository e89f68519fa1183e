package dev.grace.server;

import dev.grace.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketReadMode;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The newcomer's side of a handoff (see {@link HandoffPoint}): asks the process serving
 * handoffs at a path for its listening sockets. {@link #take} answers empty when nothing
 * there can hand over (no file, a stale file of a dead process, a process already draining):
 * the caller then binds as usual. Once a server accepts on the sockets, {@link #confirm}
 * tells the old process to stop accepting and drain. Until then the old process goes on as
 * before, so a newcomer that fails (or is killed) anywhere before {@code confirm} loses nothing.
 * Blocking: call it from a thread of the caller's, never from an event loop.
 */
public final class ListenerTakeover implements AutoCloseable {
    /** How long a process at the path has to answer each message. */
    public static final long ANSWER_TIMEOUT_MILLIS = 3_000;
    /** How long to wait while another newcomer has its turn. */
    public static final long BUSY_WAIT_MILLIS = 10_000;
    private static final long BUSY_RETRY_MILLIS = 100;
    private static final Object CLOSED = new Object();

    private final Path path;
    private final Channel conversation;
    private final EventLoopGroup group;
    private final HandoffMessages.Offer offer;
    private final Map<String, Integer> fds;
    private final List<String> taken = new ArrayList<>();
    private final CompletableFuture<Void> released = new CompletableFuture<>();
    private boolean confirmed;

    private ListenerTakeover(Path path, Channel conversation, EventLoopGroup group, HandoffMessages.Offer offer, Map<String, Integer> fds) {
        this.path = path;
        this.conversation = conversation;
        this.group = group;
        this.offer = offer;
        this.fds = fds;
    }

    /**
     * Takes the listeners of the process serving handoffs at {@code path}, if one does.
     *
     * @param kind what kind of server the caller is: a process of another kind is refused
     * @param host the address the caller wants, or null for whatever the old process has
     * @param port the port the caller wants, or 0 for whatever the old process has
     * @throws IOException naming the path: not a socket; a live process there that is not a
     *                     Grace handoff (silent for {@link #ANSWER_TIMEOUT_MILLIS}, or talking
     *                     nonsense); another newcomer's turn for longer than
     *                     {@link #BUSY_WAIT_MILLIS}; a process of another kind, address or port
     */
    public static Optional<ListenerTakeover> take(Path path, String kind, String host, int port) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kind, "kind");
        if (!Transport.EPOLL.isAvailable()) {
            throw new IOException("taking a listener over needs the epoll transport: " + Transport.EPOLL.unavailabilityCause());
        }
        HandoffPoint.requireUsable(path);
        long giveUpNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(BUSY_WAIT_MILLIS);
        EventLoopGroup group = Transport.EPOLL.newEventLoopGroup(1, "grace-takeover");
        boolean keepGroup = false;
        try {
            while (true) {
                Object file = fileKey(path);
                if (file == null) {
                    return Optional.empty();
                }
                Pump pump = new Pump();
                ChannelFuture connect = new Bootstrap().group(group).channel(EpollDomainSocketChannel.class).handler(pump)
                        .connect(new DomainSocketAddress(path.toString()));
                if (!connect.awaitUninterruptibly(ANSWER_TIMEOUT_MILLIS)) {
                    connect.channel().close();
                    throw new IOException(path + ": nothing accepted a connect within " + ANSWER_TIMEOUT_MILLIS + " ms; not a Grace handoff socket");
                }
                if (!connect.isSuccess()) {
                    if (replaced(path, file) && System.nanoTime() < giveUpNanos) {
                        continue; // another newcomer took over meanwhile: ask it
                    }
                    String reason = String.valueOf(connect.cause().getMessage());
                    if (reason.contains("Connection refused") || reason.contains("No such file")) {
                        return Optional.empty(); // a stale file: its process is gone, and its listener with it
                    }
                    throw new IOException("cannot reach " + path + ": " + reason, connect.cause());
                }
                Channel channel = connect.channel();
                channel.writeAndFlush(HandoffMessages.line(HandoffMessages.hello(kind, ProcessHandle.current().pid())));
                Object answer = pump.next();
                String line = answer instanceof String text ? text : null;
                if (HandoffMessages.MOVED.equals(line) || (line == null && replaced(path, file))) {
                    // Handed over while we asked (or closed as it did): the path is the new owner's now.
                    channel.close().awaitUninterruptibly();
                    if (System.nanoTime() > giveUpNanos) {
                        throw new IOException(path + ": the listener kept moving for " + BUSY_WAIT_MILLIS / 1000 + " s; giving up");
                    }
                    Thread.sleep(10);
                    continue;
                }
                if (HandoffMessages.BUSY.equals(line)) {
                    channel.close().awaitUninterruptibly();
                    if (System.nanoTime() > giveUpNanos) {
                        throw new IOException(path + ": another process has been taking the listener over for "
                                + BUSY_WAIT_MILLIS / 1000 + " s; giving up");
                    }
                    Thread.sleep(BUSY_RETRY_MILLIS);
                    continue;
                }
                if (HandoffMessages.DRAINING.equals(line)) {
                    channel.close().awaitUninterruptibly();
                    return Optional.empty();
                }
                HandoffMessages.Offer offer = line == null ? null : HandoffMessages.parseOffer(line);
                if (offer == null) {
                    channel.close().awaitUninterruptibly();
                    throw new IOException(path + ": not a Grace handoff socket (" + describe(answer) + ")");
                }
                String mismatch = mismatch(path, offer, kind, host, port);
                if (mismatch != null) {
                    channel.close().awaitUninterruptibly();
                    throw new IOException(mismatch);
                }
                // Descriptors ride on bytes of their own; the old process sends them only after "send".
                channel.eventLoop().submit(() -> ((EpollDomainSocketChannel) channel).config()
                        .setReadMode(DomainSocketReadMode.FILE_DESCRIPTORS)).syncUninterruptibly();
                channel.writeAndFlush(HandoffMessages.line(HandoffMessages.SEND));
                Map<String, Integer> fds = new LinkedHashMap<>();
                for (String name : offer.names()) {
                    Object received = pump.next();
                    if (!(received instanceof FileDescriptor fd)) {
                        // The old process went away mid-handoff: its listeners went with it, so bind.
                        fds.values().forEach(ListenerTakeover::closeQuietly);
                        channel.close().awaitUninterruptibly();
                        return Optional.empty();
                    }
                    fds.put(name, fd.intValue());
                }
                keepGroup = true;
                ListenerTakeover takeover = new ListenerTakeover(path, channel, group, offer, fds);
                channel.closeFuture().addListener(closed -> takeover.released.complete(null));
                return Optional.of(takeover);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while taking the listener over at " + path, e);
        } finally {
            if (!keepGroup) {
                group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            }
        }
    }

    /** The identity of the file at {@code path}, or null when there is none. */
    private static Object fileKey(Path path) {
        try {
            return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the file at {@code path} is no longer the one we connected to: a newcomer renamed its socket there. */
    private static boolean replaced(Path path, Object connectedTo) {
        Object now = fileKey(path);
        return now != null && !now.equals(connectedTo);
    }

    private static String mismatch(Path path, HandoffMessages.Offer offer, String kind, String host, int port) {
        String them = "the process at " + path + " (pid " + offer.pid() + ")";
        if (!offer.kind().equals(kind)) {
            return them + " is a " + offer.kind() + ", not a " + kind + ": refusing to take its listener";
        }
        InetSocketAddress service = offer.service();
        if (port != 0 && port != service.getPort()) {
            return "port " + port + " asked, but " + them + " listens on " + HandoffMessages.format(service) + ": refusing to take its listener";
        }
        if (host != null && !sameAddress(host, service.getAddress())) {
            return "address " + host + " asked, but " + them + " listens on " + HandoffMessages.format(service) + ": refusing to take its listener";
        }
        return null;
    }

    private static boolean sameAddress(String host, InetAddress actual) {
        try {
            InetAddress asked = InetAddress.getByName(host);
            return asked.isAnyLocalAddress() ? actual.isAnyLocalAddress() : asked.equals(actual);
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static String describe(Object answer) {
        if (answer == null) {
            return "no answer within " + ANSWER_TIMEOUT_MILLIS + " ms";
        }
        if (answer == CLOSED) {
            return "it closed without an answer";
        }
        String text = answer.toString();
        return "it answered \"" + (text.length() > 60 ? text.substring(0, 60) + "..." : text) + "\"";
    }

    /** The descriptor of the old server's own listener. */
    public int listenerFd() {
        return fd(HandoffMessages.SERVICE).orElseThrow();
    }

    /** The descriptor handed over under {@code name} (such as "admin"), which the caller now owns. */
    public java.util.OptionalInt fd(String name) {
        Integer fd = fds.get(name);
        if (fd == null) {
            return java.util.OptionalInt.empty();
        }
        taken.add(name);
        return java.util.OptionalInt.of(fd);
    }

    /** Where the listener handed over under {@code name} listens, if one was. */
    public Optional<InetSocketAddress> address(String name) {
        return Optional.ofNullable(offer.listeners().get(name));
    }

    public InetSocketAddress address() {
        return offer.service();
    }

    public long previousPid() {
        return offer.pid();
    }

    /**
     * {@code server} accepts on the listener now: tells the old process to stop accepting and
     * drain. Descriptors nobody took with {@link #fd} are closed. Once the old process has closed
     * its copies ({@link #released()}), {@code server} is their only holder again (unless the old
     * process shared them with systemd).
     */
    public void confirm(Server server) {
        confirmed = true;
        closeUntaken();
        conversation.writeAndFlush(HandoffMessages.line(HandoffMessages.TAKEN));
        released.thenRun(() -> {
            if (!offer.shared()) {
                server.listenerReleasedByPreviousOwner();
            }
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        });
    }

    /** Completes once the old process has closed its copies of the listeners (or has gone). */
    public CompletableFuture<Void> released() {
        return released.copy();
    }

    /**
     * Without {@link #confirm}: gives up the handoff, the old process goes on serving. Closes
     * the descriptors nobody took; one a server was started on is that server's to close.
     */
    @Override
    public void close() {
        if (confirmed) {
            return;
        }
        closeUntaken();
        conversation.close().awaitUninterruptibly(1, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
    }

    private void closeUntaken() {
        fds.forEach((name, fd) -> {
            if (!taken.contains(name)) {
                closeQuietly(fd);
            }
        });
    }

    private static void closeQuietly(int fd) {
        try {
            new FileDescriptor(fd).close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    /** Hands what the conversation delivers to the caller's thread: lines, descriptors, then CLOSED. */
    private static final class Pump extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        private final HandoffMessages.LineReader lines = new HandoffMessages.LineReader();

        Object next() throws InterruptedException {
            return received.poll(ANSWER_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof FileDescriptor fd) {
                received.add(fd);
                return;
            }
            try {
                List<String> read = msg instanceof ByteBuf bytes ? lines.read(bytes) : null;
                if (read == null) {
                    received.add("<not text>");
                    ctx.close();
                } else {
                    received.addAll(read);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            received.add(CLOSED);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
