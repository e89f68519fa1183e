package dev.grace.server;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT, handled as signals for the servers that asked ({@link Server#stopOnSignals()}).
 * A JVM shutdown hook runs once, with the JVM already going down; a drain must still see a second
 * signal while the first drain runs, so each signal calls {@link Server#stop()} again: the first
 * starts the drain, the next aborts what is left.
 */
final class SignalStop {
    private static final Set<Server> servers = ConcurrentHashMap.newKeySet();
    private static final String[] SIGNALS = {"TERM", "INT"};
    private static boolean installed;

    private SignalStop() {}

    static synchronized void add(Server server) {
        servers.add(server);
        server.terminationFuture().whenComplete((report, failure) -> removed(server));
        if (!installed) {
            installed = true;
            for (String name : SIGNALS) {
                Signal.handle(new Signal(name), signal -> servers.forEach(Server::stop));
            }
        }
    }

    /** With no server left to stop, the signals end the JVM again as they did before. */
    private static synchronized void removed(Server server) {
        servers.remove(server);
        if (servers.isEmpty() && installed) {
            installed = false;
            for (String name : SIGNALS) {
                Signal.handle(new Signal(name), sun.misc.SignalHandler.SIG_DFL);
            }
        }
    }
}
