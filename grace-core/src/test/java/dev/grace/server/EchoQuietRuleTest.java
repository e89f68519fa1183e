package dev.grace.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.CloseReport;
import dev.grace.Connection;
import dev.grace.ConnectionState;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The echo's drain rule on its own, with time advanced by hand: idle only once everything was
 * echoed and nothing arrived for {@link EchoProtocol#QUIET_MILLIS}, counted from the last byte.
 */
class EchoQuietRuleTest {
    private final EchoProtocol echo = new EchoProtocol();
    private EmbeddedChannel channel;
    private RecordingConnection connection;

    /** Records what the echo told Grace; nothing else of a connection is used. */
    private static final class RecordingConnection implements Connection {
        private final Channel channel;
        private boolean idle = true;

        RecordingConnection(Channel channel) {
            this.channel = channel;
        }

        @Override
        public Channel channel() {
            return channel;
        }

        @Override
        public void markBusy() {
            idle = false;
        }

        @Override
        public void markIdle() {
            idle = true;
        }

        @Override
        public boolean isIdle() {
            return idle;
        }

        @Override
        public void holdOpen(Duration window) {
            throw new UnsupportedOperationException();
        }

        @Override
        public ConnectionState state() {
            return ConnectionState.OPEN;
        }

        @Override
        public CompletableFuture<Void> shutdownOutput() {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> closeGracefully(Duration deadline) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> lingerClose(Duration deadline) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> abort() {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> abortOnceDelivered(Duration deadline) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> abortAtDeadline() {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> closeWhenIdle(Duration deadline) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long idleNanos() {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletableFuture<CloseReport> closeFuture() {
            throw new UnsupportedOperationException();
        }

        @Override
        public long bytesIn() {
            return 0;
        }

        @Override
        public long bytesOut() {
            return 0;
        }
    }

    @BeforeEach
    void openConnection() {
        channel = new EmbeddedChannel();
        channel.freezeTime();
        connection = new RecordingConnection(channel);
        echo.connectionOpened(connection);
        channel.pipeline().fireChannelActive();
    }

    @AfterEach
    void closeConnection() {
        channel.finishAndReleaseAll();
    }

    private void receive(String text) {
        channel.writeInbound(Unpooled.copiedBuffer(text.getBytes()));
        ByteBuf echoed = channel.readOutbound();
        assertThat(echoed.toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(text);
        echoed.release();
    }

    private void advanceMillis(long millis) {
        channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
    }

    @Test
    void aConnectionQuietLongEnoughWhenTheDrainBeginsIsIdleAtOnce() {
        receive("hello");
        advanceMillis(EchoProtocol.QUIET_MILLIS);
        echo.drainStarted(connection);

        assertThat(connection.isIdle()).isTrue();
    }

    @Test
    void aConnectionThatSpokeRecentlyIsIdleOnlyOnceTheQuietHasRunItsCourse() {
        receive("hello");
        advanceMillis(10);
        echo.drainStarted(connection);
        assertThat(connection.isIdle()).as("10 ms after its last byte").isFalse();

        advanceMillis(EchoProtocol.QUIET_MILLIS - 10 - 1);
        assertThat(connection.isIdle()).as("1 ms short of the quiet").isFalse();
        advanceMillis(1);
        assertThat(connection.isIdle()).isTrue();
    }

    @Test
    void everyByteDuringTheDrainStartsTheQuietAgain() {
        receive("a");
        echo.drainStarted(connection);
        for (int i = 0; i < 5; i++) {
            advanceMillis(EchoProtocol.QUIET_MILLIS - 1);
            receive("more");
            assertThat(connection.isIdle()).as("still talking, round %d", i).isFalse();
        }
        advanceMillis(EchoProtocol.QUIET_MILLIS - 1);
        assertThat(connection.isIdle()).isFalse();
        advanceMillis(1);
        assertThat(connection.isIdle()).isTrue();
    }

    @Test
    void aNewConnectionCountsItsQuietFromTheAccept() {
        advanceMillis(EchoProtocol.QUIET_MILLIS / 2);
        echo.drainStarted(connection);
        assertThat(connection.isIdle()).as("accepted 25 ms ago, nothing sent yet").isFalse();
        advanceMillis(EchoProtocol.QUIET_MILLIS / 2);
        assertThat(connection.isIdle()).isTrue();
    }

    @Test
    void outsideADrainAnEchoedConnectionIsIdleAtOnce() {
        receive("hello");
        assertThat(connection.isIdle()).isTrue();
    }
}
