package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testkit.EmbeddedDuplexChannel;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A connection's timers, driven by the channel's own clock: each test moves time forward and
 * runs what fell due, so a deadline that never fires, or fires early, fails the test at once.
 */
@Timeout(10)
class ConnectionTimersTest {
    private EmbeddedDuplexChannel channel;

    private Connection open(ConnectionOptions options) {
        channel = new EmbeddedDuplexChannel();
        channel.freezeTime();
        return Grace.install(channel, options, ConnectionListener.NONE);
    }

    private void advance(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runPendingTasks();
        channel.runScheduledPendingTasks();
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    @Test
    void aGracefulCloseIsResetAtItsDeadlineNotBefore() {
        Connection connection = open(ConnectionOptions.defaults());
        connection.closeGracefully(Duration.ofSeconds(2));
        channel.runPendingTasks();
        assertThat(connection.state()).as("our FIN is out, the peer's is awaited").isEqualTo(ConnectionState.LINGERING);

        advance(1_999);
        assertThat(connection.closeFuture()).isNotDone();
        advance(1);
        assertThat(connection.closeFuture()).isCompleted();
        assertThat(connection.closeFuture().join().outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
    }

    @Test
    void aLaterLongerDeadlineNeverPostponesTheEarlierOne() {
        Connection connection = open(ConnectionOptions.defaults());
        connection.closeGracefully(Duration.ofSeconds(1));
        connection.closeGracefully(Duration.ofSeconds(60));
        connection.closeWhenIdle(Duration.ofSeconds(60));
        advance(999);
        assertThat(connection.closeFuture()).isNotDone();
        advance(1);
        assertThat(connection.closeFuture().join().outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
    }

    @Test
    void theIdleTimeoutClosesAQuietConnectionAndTrafficPushesItBack() {
        Connection connection = open(ConnectionOptions.defaults().withIdleTimeout(Duration.ofSeconds(5)));
        advance(4_000);
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {1, 2, 3}));
        channel.releaseInbound();
        advance(4_000);
        assertThat(connection.state()).as("4 s after the last byte").isEqualTo(ConnectionState.OPEN);

        advance(1_000);
        assertThat(connection.state()).as("5 s after the last byte: closing gracefully").isEqualTo(ConnectionState.LINGERING);
        channel.peerFin();
        assertThat(connection.closeFuture().join().outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
    }

    @Test
    void aHalfClosedConnectionThatStaysSilentIsResetAtTheHalfClosedTimeout() {
        Connection connection = open(ConnectionOptions.defaults().withHalfClosedTimeout(Duration.ofSeconds(3)).withWritesAfterPeerFin(true));
        channel.peerFin();
        assertThat(connection.state()).isEqualTo(ConnectionState.PEER_FIN_RECEIVED);

        advance(2_000);
        channel.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {1}));
        advance(2_999);
        assertThat(connection.closeFuture()).as("a write 3 s ago moved the limit").isNotDone();
        advance(1);
        assertThat(connection.closeFuture().join().outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
    }

    @Test
    void aZeroHalfClosedTimeoutLeavesAHalfClosedConnectionAlone() {
        Connection connection = open(ConnectionOptions.defaults().withHalfClosedTimeout(Duration.ZERO).withWritesAfterPeerFin(true));
        channel.peerFin();
        advance(TimeUnit.DAYS.toMillis(2));
        assertThat(connection.closeFuture()).isNotDone();
        assertThat(connection.state()).isEqualTo(ConnectionState.PEER_FIN_RECEIVED);
    }

    @Test
    void aBusyConnectionADrainAskedToCloseIsResetAtTheDrainsDeadline() {
        Connection connection = open(ConnectionOptions.defaults());
        connection.markBusy();
        connection.closeWhenIdle(Duration.ofSeconds(30));
        advance(29_999);
        assertThat(connection.state()).isEqualTo(ConnectionState.OPEN);
        advance(1);
        assertThat(connection.closeFuture().join().outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
    }

    @Test
    void anIdleConnectionADrainAskedToCloseGetsItsFinAfterOneReadPass() {
        Connection connection = open(ConnectionOptions.defaults());
        connection.closeWhenIdle(Duration.ofSeconds(30));
        // No kernel to ask here: one read pass that finds nothing shows it idle.
        channel.runPendingTasks();
        assertThat(connection.state()).isEqualTo(ConnectionState.OPEN);
        advance(1);
        assertThat(connection.state()).isEqualTo(ConnectionState.LINGERING);
        assertThat(channel.isOutputShutdown()).isTrue();
        channel.peerFin();
        assertThat(connection.closeFuture().join().outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
    }

    @Test
    void idleTimeIsCountedOnTheChannelsClock() {
        Connection connection = open(ConnectionOptions.defaults());
        advance(1_500);
        assertThat(connection.idleNanos()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(1_500));
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {1}));
        channel.releaseInbound();
        assertThat(connection.idleNanos()).isZero();
    }
}
