package dev.grace.server;

import dev.grace.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a running server hands its listening sockets to the process that replaces it (see
 * {@link ListenerTakeover} for the newcomer's side, {@link HandoffMessages} for the
 * conversation). Only the listeners pass, never an established connection: the old process
 * keeps and drains its own. Once the newcomer says it accepts on them, the server stops
 * accepting without closing the sockets' queues, which the newcomer goes on emptying, and
 * drains (see {@link Server#stop()}). One handoff at a time: another newcomer meanwhile hears
 * "busy"; a server that is already draining answers "draining" and hands nothing over.
 *
 * <p>The Unix socket is bound under a temporary name and renamed onto the path, so the path
 * always answers: first the old process, then, from the newcomer's rename on, the new one.
 * Only processes of the same user (or root) may take the listeners. Epoll only: NIO cannot
 * pass a descriptor. Runs on an event loop of its own.
 */
public final class HandoffPoint implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HandoffPoint.class);
    /** How long one newcomer may take, from its hello to "taken", before it loses its turn. */
    static final long CONVERSATION_TIMEOUT_MILLIS = 10_000;
    /** sockaddr_un's sun_path holds 108 bytes, the last a NUL. */
    static final int MAX_PATH_BYTES = 107;

    private final Path path;
    private final String kind;
    private final Server server;
    private final Map<String, ServerChannel> listeners;
    private final EventLoopGroup group;
    private final Channel unixListener;
    private final Object fileKey;
    private final CompletableFuture<Long> handedOver = new CompletableFuture<>();
    /** Set before the server is told to hand over, so that its stop does not close this point. */
    private volatile boolean handingOver;
    /** The newcomer whose turn it is; on the handoff loop only. */
    private Channel turn;

    private HandoffPoint(Path path, String kind, Server server, Map<String, ServerChannel> listeners,
            EventLoopGroup group, Channel unixListener, Object fileKey) {
        this.path = path;
        this.kind = kind;
        this.server = server;
        this.listeners = listeners;
        this.group = group;
        this.unixListener = unixListener;
        this.fileKey = fileKey;
    }

    /**
     * Serves handoffs of {@code server}'s listener (and of {@code alsoHandOver}, by name, such as
     * an admin listener) at {@code path}, replacing a socket file already there. Stops serving
     * once the server's drain begins, removing the path if it is still its own.
     *
     * @param kind what kind of server this is ("server", "proxy"): a newcomer of another kind refuses
     * @throws IOException naming the path when it cannot be served there
     */
    public static HandoffPoint open(Path path, String kind, Server server, Map<String, ServerChannel> alsoHandOver)
            throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kind, "kind");
        requireUsable(path);
        Map<String, ServerChannel> listeners = new LinkedHashMap<>();
        alsoHandOver.forEach((name, channel) -> {
            if (!(channel instanceof EpollServerSocketChannel) || name.equals(HandoffMessages.SERVICE) || !name.matches("[a-z]+")) {
                throw new IllegalArgumentException("cannot hand over listener " + name + " (" + channel + "): epoll listeners with lowercase names only");
            }
            listeners.put(name, channel);
        });
        server.listenerFd();
        Path bound = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(bound);
        EventLoopGroup group = Transport.EPOLL.newEventLoopGroup(1, "grace-handoff");
        HandoffPoint[] point = new HandoffPoint[1];
        ChannelFuture bind = new ServerBootstrap()
                .group(group)
                .channel(EpollServerDomainSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        channel.pipeline().addLast(point[0].new Conversation());
                    }
                })
                .bind(new DomainSocketAddress(bound.toString()))
                .awaitUninterruptibly();
        Object fileKey;
        try {
            if (!bind.isSuccess()) {
                throw new IOException(reason(bind.cause()));
            }
            Files.setPosixFilePermissions(bound, PosixFilePermissions.fromString("rw-------"));
            Files.move(bound, path, StandardCopyOption.ATOMIC_MOVE);
            fileKey = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            if (bind.isSuccess()) {
                bind.channel().close().awaitUninterruptibly();
            }
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            Files.deleteIfExists(bound);
            throw new IOException("cannot serve handoffs at " + path + ": " + reason(e), e);
        }
        point[0] = new HandoffPoint(path, kind, server, listeners, group, bind.channel(), fileKey);
        HandoffPoint opened = point[0];
        // A stop closes the point at once; a handoff keeps it answering "moved" until the
        // newcomer's socket is at the path (see closeOnceReplaced), or until this server is done.
        server.stopStarted().thenRun(() -> {
            if (!opened.handingOver) {
                opened.close();
            }
        });
        opened.handedOver.thenRun(opened::closeOnceReplaced);
        server.terminationFuture().whenComplete((report, failure) -> {
            opened.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        });
        return point[0];
    }

    /** The path's parent must be a directory, and the path a socket or nothing. */
    static void requireUsable(Path path) throws IOException {
        int bytes = path.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > MAX_PATH_BYTES) {
            throw new IOException("cannot serve handoffs at " + path + ": the path is " + bytes + " bytes long, a Unix socket's at most " + MAX_PATH_BYTES);
        }
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !isSocket(path)) {
            throw new IOException(path + " is not a socket: refusing to replace it");
        }
        Path parent = path.toAbsolutePath().getParent();
        if (!Files.isDirectory(parent)) {
            throw new IOException("cannot serve handoffs at " + path + ": " + parent + " is not a directory");
        }
    }

    static boolean isSocket(Path path) throws IOException {
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return (mode & 0170000) == 0140000;
    }

    /** Completes with the newcomer's PID once it has the listeners and this server is draining. */
    public CompletableFuture<Long> handedOver() {
        return handedOver.copy();
    }

    public Path path() {
        return path;
    }

    /**
     * After a handoff: the newcomer renames its own socket onto the path once it serves on the
     * listeners. Until then a second newcomer that finds our socket closed would take the path for
     * stale and bind a port of its own, so this point stays open, answering "moved", and closes
     * once the path names another socket (checked every 10 ms) or the server is done.
     */
    private void closeOnceReplaced() {
        EventLoop loop = unixListener.eventLoop();
        ScheduledFuture<?>[] watch = new ScheduledFuture<?>[1];
        watch[0] = loop.scheduleAtFixedRate(() -> {
            if (!unixListener.isOpen() || fileKey == null || !fileKey.equals(currentFileKey(path))) {
                watch[0].cancel(false);
                // Off the loop: close() waits for the listener's close on this loop.
                Thread closer = new Thread(this::close, "grace-handoff-close");
                closer.setDaemon(true);
                closer.start();
            }
        }, 10, 10, TimeUnit.MILLISECONDS);
    }

    private static Object currentFileKey(Path path) {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Stops serving handoffs. The path is removed if it is still this process's socket (a
     * newcomer that took over has renamed its own onto it).
     */
    @Override
    public void close() {
        unixListener.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        try {
            Object now = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            if (fileKey != null && fileKey.equals(now)) {
                Files.deleteIfExists(path);
            }
        } catch (NoSuchFileException gone) {
            // a newcomer's rename and its own removal, or someone else's: nothing of ours is left
        } catch (IOException e) {
            log.warn("could not remove the handoff socket {}: {}", path, e.toString());
        }
    }

    private static String reason(Throwable cause) {
        if (cause instanceof AccessDeniedException || cause instanceof NoSuchFileException) {
            return cause instanceof AccessDeniedException ? "permission denied" : "no such file or directory";
        }
        if (cause instanceof FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        String message = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        int errno = message.lastIndexOf("): ");
        return errno >= 0 ? message.substring(errno + 3) : message;
    }

    /** One newcomer's conversation; runs on the handoff loop. */
    private final class Conversation extends ChannelInboundHandlerAdapter {
        private final HandoffMessages.LineReader lines = new HandoffMessages.LineReader();
        private boolean offered;
        private boolean sent;
        private long newcomerPid;

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws IOException {
            int uid = ((EpollDomainSocketChannel) ctx.channel()).peerCredentials().uid();
            if (uid != 0 && uid != ourUid()) {
                log.warn("handoff at {}: refused a newcomer of uid {}", path, uid);
                ctx.close();
                return;
            }
            ctx.executor().schedule(() -> {
                if (ctx.channel().isActive() && !handedOver.isDone()) {
                    log.warn("handoff at {}: pid {} took longer than {} ms; it loses its turn", path, newcomerPid, CONVERSATION_TIMEOUT_MILLIS);
                    ctx.close();
                }
            }, CONVERSATION_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            List<String> received;
            try {
                received = msg instanceof ByteBuf bytes ? lines.read(bytes) : null;
            } finally {
                ReferenceCountUtil.release(msg);
            }
            if (received == null) {
                ctx.close();
                return;
            }
            for (String line : received) {
                if (!answer(ctx, line)) {
                    ctx.close();
                    return;
                }
            }
        }

        /** False when the conversation is over. */
        private boolean answer(ChannelHandlerContext ctx, String line) {
            if (!offered) {
                String[] hello = HandoffMessages.parseHello(line);
                if (hello == null) {
                    return false;
                }
                newcomerPid = Long.parseLong(hello[1].matches("[0-9]{1,18}") ? hello[1] : "0");
                if (handedOver.isDone()) {
                    ctx.writeAndFlush(HandoffMessages.line(HandoffMessages.MOVED));
                    return false;
                }
                if (server.stopStarted().isDone()) {
                    ctx.writeAndFlush(HandoffMessages.line(HandoffMessages.DRAINING));
                    return false;
                }
                if (turn != null && turn != ctx.channel()) {
                    ctx.writeAndFlush(HandoffMessages.line(HandoffMessages.BUSY));
                    return false;
                }
                turn = ctx.channel();
                offered = true;
                Map<String, InetSocketAddress> addresses = new LinkedHashMap<>();
                addresses.put(HandoffMessages.SERVICE, server.localAddress());
                listeners.forEach((name, channel) -> addresses.put(name, (InetSocketAddress) channel.localAddress()));
                ctx.writeAndFlush(HandoffMessages.line(HandoffMessages.offer(kind, ProcessHandle.current().pid(), server.listenerShared(), addresses)));
                return true;
            }
            if (!sent && line.equals(HandoffMessages.SEND)) {
                sent = true;
                ctx.write(new FileDescriptor(server.listenerFd()));
                listeners.values().forEach(channel -> ctx.write(new FileDescriptor(((EpollServerSocketChannel) channel).fd().intValue())));
                ctx.flush();
                return true;
            }
            if (sent && line.equals(HandoffMessages.TAKEN)) {
                handOver(ctx.channel());
                return true;
            }
            return false;
        }

        /** Off the loop: closing the listeners waits for their own loops. */
        private void handOver(Channel conversation) {
            Thread thread = new Thread(() -> {
                handingOver = true;
                if (server.handOver()) {
                    listeners.values().forEach(channel -> channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS));
                    log.debug("handoff at {}: listeners handed to pid {}; draining", path, newcomerPid);
                    handedOver.complete(newcomerPid);
                } else {
                    handingOver = false;
                }
                // Closing the conversation is the newcomer's "released": our copies are gone.
                conversation.close();
            }, "grace-handoff-release");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (turn == ctx.channel()) {
                turn = null;
                if (!handedOver.isDone()) {
                    log.info("handoff at {}: pid {} went away without taking the listeners; still serving", path, newcomerPid);
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("handoff at {}: {}", path, cause.toString());
            ctx.close();
        }
    }

    private static int ourUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }
}
