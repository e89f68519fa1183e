package dev.grace.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code --transport epoll} where epoll cannot load (Netty's native code switched off): a usage
 * error naming the flag and why, the same from every command, before any socket is opened.
 */
class TransportUnavailableIT {

    @ParameterizedTest
    @ValueSource(strings = {"server --port 0", "client 127.0.0.1:1", "proxy --listen 127.0.0.1:0 --to 127.0.0.1:1",
        "bench echo --target 127.0.0.1:1 -d 1s", "demo"})
    void epollThatCannotLoadIsAUsageErrorNamingTheFlag(String command) throws Exception {
        String[] args = (command + " --transport epoll").split(" ");
        try (GraceProcess grace = GraceProcess.start(List.of("-Dio.netty.transport.noNative=true"), null, null, args)) {
            assertThat(grace.awaitExit(30)).isEqualTo(ExitCode.USAGE);
            assertThat(grace.stderr()).singleElement().asString()
                    .startsWith(args[0] + ": Invalid value for option '--transport': transport epoll is not available here: ");
            assertThat(grace.nextStdoutLineOrNull()).isNull();
        }
    }
}
