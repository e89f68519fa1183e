package dev.grace.cli;

import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import sun.misc.Signal;

/**
 * SIGTERM and SIGINT, handled as signals. A JVM shutdown hook runs once and then the JVM is
 * going down; a drain needs to see a second signal while the first drain runs, so each signal
 * calls {@code stop} (the first starts the drain, the next aborts what is left).
 */
final class StopSignals<T> {
    private final Supplier<CompletableFuture<T>> stop;
    private final CompletableFuture<CompletableFuture<T>> firstStop = new CompletableFuture<>();

    private StopSignals(Supplier<CompletableFuture<T>> stop) {
        this.stop = stop;
    }

    static <T> StopSignals<T> install(Supplier<CompletableFuture<T>> stop) {
        StopSignals<T> signals = new StopSignals<>(stop);
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> signals.signalled());
        }
        return signals;
    }

    private synchronized void signalled() {
        firstStop.complete(stop.get());
    }

    /** Blocks until the first signal, then until what it started is done. */
    T awaitStop() {
        return firstStop.join().join();
    }
}
