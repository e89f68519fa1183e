package dev.grace.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What each misbehaviour looks like from a plain client on the other end, and that nothing stays open after. */
@ExtendWith(FdLeakCheck.class)
class MisbehaviourTest {
    private static final byte[] LARGE_REQUEST = new byte[256 * 1024];

    @Test
    void resetsMidStreamSendsHalfItsAnswerThenRst() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.RESETS_MID_STREAM, "hello, world");
                Peer client = Peer.connect(server.address())) {
            client.send("ping");
            Peer.ReadResult seen = client.readToEnd();

            assertThat(seen.end()).as("%s", seen).isEqualTo(Peer.ReadResult.End.RESET);
            assertThat("hello, world").startsWith(seen.text());
            assertThat(server.nextSession().received().text()).isEqualTo("ping");
        }
    }

    @Test
    void answersThenResetsSendsItsWholeAnswerThenRst() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.ANSWERS_THEN_RESETS, "+PONG\r\n");
                Peer client = Peer.connect(server.address())) {
            client.send("PING\r\n");
            assertThat(new String(client.readExactly(7), StandardCharsets.UTF_8)).isEqualTo("+PONG\r\n");

            assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.RESET);
        }
    }

    @Test
    void closesWithInputUnreadLooksLikeAFinToAReaderAndResetsAWriter() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.CLOSES_WITH_INPUT_UNREAD, "413 too large\n");
                Peer client = Peer.connect(server.address())) {
            try {
                client.send(LARGE_REQUEST);
            } catch (java.net.SocketException overtaken) {
                // The peer answers and closes after its first read: its RST can meet the tail of
                // this write still on its way ("Broken pipe"). What was sent before it is read.
                assertThat(overtaken.getMessage()).containsAnyOf("Broken pipe", "reset");
            }
            Misbehaviour.Session served = server.nextSession();
            Peer.ReadResult seen = client.readToEnd();

            assertThat(served.received().bytes().length).isLessThan(LARGE_REQUEST.length);
            // java.net.Socket sends FIN, then the kernel's RST a fraction of a millisecond later (FACTS.md).
            assertThat(seen.text()).isEqualTo("413 too large\n");
            assertThat(client.awaitResetOnWrite()).as("a write after the FIN meets the RST").isNotNull();
        }
    }

    @Test
    void halfClosesAndKeepsReadingTakesWhatComesAfterItsFin() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "greeting");
                Peer client = Peer.connect(server.address())) {
            client.send("hi ");
            assertThat(client.readToEnd().text()).isEqualTo("greeting");
            client.send("and more after your FIN");
            client.halfClose();
            Misbehaviour.Session served = server.nextSession();

            assertThat(served.received().text()).isEqualTo("hi and more after your FIN");
            assertThat(served.received().end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(served.sendFailure()).isNull();
        }
    }

    @Test
    void stopsReadingHoldsTheConnectionWithoutFinThenResetsOnClose() throws Exception {
        Peer client;
        try (PeerServer server = PeerServer.start(Misbehaviour.STOPS_READING, "ok")) {
            client = Peer.connect(server.address());
            client.send("request");
            assertThat(client.readExactly(2)).isEqualTo("ok".getBytes(StandardCharsets.UTF_8));
            client.socket().setSoTimeout(300);
            assertThat(client.readToEnd().end()).as("no FIN while it holds").isEqualTo(Peer.ReadResult.End.TIMEOUT);
        }
        try (client) {
            client.socket().setSoTimeout(Peer.READ_TIMEOUT_MILLIS);
            assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.RESET);
        }
    }

    @Test
    void neverSendsFinEvenAfterTheOtherSidesFin() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.NEVER_SENDS_FIN, new byte[0]);
                Peer client = Peer.connect(server.address())) {
            client.send("request");
            client.halfClose();
            client.socket().setSoTimeout(300);

            assertThat(client.readToEnd().end()).isEqualTo(Peer.ReadResult.End.TIMEOUT);
        }
    }

    @Test
    void aClientPlaysTheSameVocabulary() throws Exception {
        try (PeerServer server = PeerServer.start(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, "answer");
                Peer client = Peer.connect(server.address())) {
            Misbehaviour.Session session = client.play(Misbehaviour.HALF_CLOSES_AND_KEEPS_READING, LARGE_REQUEST);

            assertThat(session.sendFailure()).isNull();
            assertThat(session.received().text()).isEqualTo("answer");
            assertThat(session.received().end()).isEqualTo(Peer.ReadResult.End.FIN);
            assertThat(server.nextSession().received().bytes()).hasSize(LARGE_REQUEST.length);
        }
    }

    @Test
    void aScriptThatFailsIsReportedByAwaitServed() throws Exception {
        try (PeerServer server = PeerServer.scripted((socket, s) -> {
            throw new SocketTimeoutException("the script gave up");
        }); Peer client = Peer.connect(server.address())) {
            try {
                server.awaitServed(15);
                throw new IllegalStateException("awaitServed passed");
            } catch (AssertionError expected) {
                assertThat(expected).hasMessageContaining("the script gave up");
            }
        }
    }
}
