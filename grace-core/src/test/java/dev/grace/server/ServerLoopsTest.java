package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.Connection;
import dev.grace.Transport;
import dev.grace.testing.Recorder;
import dev.grace.testkit.FdLeakCheck;
import dev.grace.testkit.Peer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Where a server's work runs. Accepting on a thread of its own hands every new connection to
 * another thread: on a core that is busy with connections, two context switches per connection
 * (bench/proxies.sh measured the difference); the listener shares the connections' loops.
 */
@ExtendWith(FdLeakCheck.class)
class ServerLoopsTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.grace.testing.Transports#all")
    void withOneIoThreadTheListenerAcceptsOnTheLoopItsConnectionsRunOn(Transport transport) throws Exception {
        Recorder recorder = new Recorder();
        ServerOptions options = ServerOptions.defaults().withTransport(transport).withBind("127.0.0.1", 0).withIoThreads(1);
        try (Server server = Server.start(options, new EchoProtocol(), recorder);
                Peer peer = Peer.connect(server.localAddress())) {
            Connection accepted = recorder.nextAccepted();
            peer.send("ping");
            assertThat(new String(peer.readExactly(4))).isEqualTo("ping");

            assertThat(accepted.channel().eventLoop()).isSameAs(server.listenerEventLoop());
            peer.halfClose();
            assertThat(peer.readToEnd().end()).isEqualTo(Peer.ReadResult.End.FIN);
        }
    }
}
