package dev.grace.cli.demo;

import dev.grace.Transport;
import java.util.List;

/**
 * The five scenarios, in the order the demo shows them. Each starts its own server on a free
 * loopback port, drives a plain-socket client, and records into its {@link Timeline} only what
 * the two sides actually did and saw.
 */
public final class Scenarios {
    private Scenarios() {}

    public static List<Timeline> runAll(Transport transport) throws Exception {
        return List.of(GracefulSequence.run(transport), CloseWithUnreadInput.run(), Abort.run(transport),
                LingerClose.run(transport), ServerDrain.run(transport));
    }
}
