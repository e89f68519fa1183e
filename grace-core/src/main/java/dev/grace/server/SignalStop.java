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
    private static boolean installed;

    private SignalStop() {}

    static synchronized void add(Server server) {
        servers.add(server);
        server.terminationFuture().whenComplete((report, failure) -> servers.remove(server));
        if (!installed) {
            installed = true;
            for (String name : new String[] {"TERM", "INT"}) {
                Signal.handle(new Signal(name), signal -> servers.forEach(Server::stop));
            }
        }
    }
}
