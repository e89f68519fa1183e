package dev.grace.internal;

import io.netty.channel.Channel;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoOps;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Works around a Netty 4.2 epoll bug (seen in 4.2.17 and 4.2.20). When a channel's interest
 * set becomes empty, Netty removes its descriptor from epoll (EPOLL_CTL_DEL) but keeps the
 * registration marked as added; the next interest (EPOLLOUT for a write that did not fit,
 * EPOLLIN for a read) is then an EPOLL_CTL_MOD that fails with ENOENT, and Netty answers by
 * shutting the output down and failing the pending writes: a truncated stream behind a FIN. It
 * happens after the peer's FIN, once EPOLLIN and EPOLLRDHUP are cleared, on any connection that
 * still has a lot to send.
 *
 * <p>Once the peer's FIN is in, Grace marks a registration whose interest set is empty as not
 * added before each write and read it passes on, and after each completed write (a task, so it
 * runs before Netty's own deferred flush), so Netty adds the descriptor again. If Netty's
 * internals ever change shape, the repair turns itself off (and says so once at debug). Runs on
 * the event loop.
 */
final class EpollRegistrationRepair {
    private static final Logger log = LoggerFactory.getLogger(EpollRegistrationRepair.class);
    private static final Class<?> EPOLL_CHANNEL;
    private static final Field OPS;
    private static final Method REGISTRATION;
    private static final String REGISTRATION_CLASS = "io.netty.channel.epoll.EpollIoHandler$DefaultEpollIoRegistration";
    private static final String STATE_CLASS = "io.netty.channel.epoll.EpollIoHandler$RegistrationState";
    private static final Field STATE;
    /** Netty's event loop wraps each registration; the one with the state is inside. */
    private static final String WRAPPER_CLASS = "io.netty.channel.SingleThreadIoEventLoop$IoRegistrationWrapper";
    private static final Field WRAPPED;
    private static final Object ADDED;
    private static final Object PENDING;

    static {
        Class<?> epollChannel = null;
        Field ops = null;
        Method registration = null;
        Field state = null;
        Field wrapped = null;
        Object added = null;
        Object pending = null;
        try {
            epollChannel = Class.forName("io.netty.channel.epoll.AbstractEpollChannel");
            ops = epollChannel.getDeclaredField("ops");
            ops.setAccessible(true);
            registration = epollChannel.getDeclaredMethod("registration");
            registration.setAccessible(true);
            wrapped = Class.forName(WRAPPER_CLASS).getDeclaredField("registration");
            wrapped.setAccessible(true);
            state = Class.forName(REGISTRATION_CLASS).getDeclaredField("state");
            state.setAccessible(true);
            Class<?> states = Class.forName(STATE_CLASS);
            for (Object constant : states.getEnumConstants()) {
                String name = ((Enum<?>) constant).name();
                if (name.equals("Added")) {
                    added = constant;
                } else if (name.equals("Pending")) {
                    pending = constant;
                }
            }
            if (added == null || pending == null) {
                throw new NoSuchFieldException("RegistrationState.Added/Pending");
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.debug("epoll registration repair is off: {}", e.toString());
            ops = null;
        }
        EPOLL_CHANNEL = epollChannel;
        OPS = ops;
        REGISTRATION = registration;
        STATE = state;
        WRAPPED = wrapped;
        ADDED = added;
        PENDING = pending;
    }

    private EpollRegistrationRepair() {}

    /** If Netty removed {@code channel}'s descriptor from epoll but still thinks it added, say it did not. */
    static void repair(Channel channel) {
        if (OPS == null || !EPOLL_CHANNEL.isInstance(channel) || !channel.isRegistered()) {
            return;
        }
        try {
            EpollIoOps ops = (EpollIoOps) OPS.get(channel);
            if (ops == null || ops.value() != EpollIoOps.NONE.value()) {
                return;
            }
            IoRegistration registration = (IoRegistration) REGISTRATION.invoke(channel);
            while (registration != null && registration.getClass().getName().equals(WRAPPER_CLASS)) {
                registration = (IoRegistration) WRAPPED.get(registration);
            }
            if (registration == null || !registration.getClass().getName().equals(REGISTRATION_CLASS)) {
                return;
            }
            synchronized (registration) {
                if (STATE.get(registration) == ADDED) {
                    STATE.set(registration, PENDING);
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.debug("epoll registration repair failed on {}: {}", channel, e.toString());
        }
    }
}
