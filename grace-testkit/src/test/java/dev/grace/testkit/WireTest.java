package dev.grace.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The capture sees the last packets of a test without a pause, because stop() waits for its marker. */
@ExtendWith(FdLeakCheck.class)
class WireTest {
    @Test
    void aResetSentJustBeforeStopIsCaptured() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "bye");
                Wire wire = Wire.capture(server.port())) {
            Peer client = Peer.connect(server.address());
            client.send("hello");
            // The server's answer first: arriving after the reset, it would draw a second RST from the client's kernel.
            client.readExactly(3);
            client.reset();
            Wire.Packets packets = wire.stop();

            assertThat(packets.resets()).as(packets.toString()).isEqualTo(1);
            assertThat(packets.resetsFrom(server.port())).as("the client reset, not the server").isZero();
        }
    }

    @Test
    void aCleanExchangeShowsTwoFinsAndNoReset() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "bye");
                Wire wire = Wire.capture(server.port())) {
            try (Peer client = Peer.connect(server.address())) {
                client.play(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "hello".getBytes());
            }
            Wire.Packets packets = wire.stop();

            assertThat(packets.fins()).as(packets.toString()).isEqualTo(2);
            assertThat(packets.resets()).as(packets.toString()).isZero();
        }
    }
}
