package dev.grace.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.CloseMode;
import dev.grace.ConnectionOptions;
import dev.grace.ConnectionState;
import dev.grace.Outcome;
import dev.grace.Side;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The close decisions on their own: a hand-written channel records what the machine asks for,
 * a hand-written kernel answers, and time is a number the test moves. No socket, no sleep.
 */
class CloseMachineTest {
    private static final long SECOND = 1_000_000_000L;

    /** Records every decision as a word; the test plays the channel's answers. */
    private static final class RecordingIo implements CloseMachine.Io {
        final List<String> did = new ArrayList<>();
        final List<CloseMachine.Step> waitingForFlush = new ArrayList<>();
        final List<CloseMachine.Step> polls = new ArrayList<>();
        boolean writesInFlight;
        long bytesIn;
        long deadlineNanos = Long.MAX_VALUE;
        Long readPassDelayNanos;

        @Override
        public void flushThen(CloseMachine.Step next) {
            did.add("flush");
            waitingForFlush.add(next);
        }

        @Override
        public boolean writesInFlight() {
            return writesInFlight;
        }

        @Override
        public void sendFin() {
            did.add("FIN");
        }

        @Override
        public void closeSocket(boolean reset) {
            did.add(reset ? "RST" : "close");
        }

        @Override
        public void readToEnd() {
            did.add("read to end");
        }

        @Override
        public void readPass(long delayNanos) {
            did.add("read pass");
            readPassDelayNanos = delayNanos;
        }

        @Override
        public void pollThen(CloseMachine.Step next) {
            polls.add(next);
        }

        @Override
        public void closeDeadlineMoved(long deadlineNanos) {
            this.deadlineNanos = deadlineNanos;
        }

        @Override
        public void stateChanged(ConnectionState from, ConnectionState to) {
            did.add(to.name());
        }

        @Override
        public void finSent() {
            did.add("FIN sent");
        }

        @Override
        public long bytesIn() {
            return bytesIn;
        }
    }

    /** The kernel of an epoll socket, as the test sets it. */
    private static final class SettableKernel implements CloseMachine.Kernel {
        boolean canConfirm = true;
        boolean finAcknowledged;
        boolean peerFinWaiting;
        boolean gone;
        long unacknowledged;
        long unread;

        @Override
        public boolean canConfirmDelivery() {
            return canConfirm;
        }

        @Override
        public boolean finAcknowledged() {
            return finAcknowledged;
        }

        @Override
        public boolean peerFinWaiting() {
            return peerFinWaiting;
        }

        @Override
        public boolean connectionGone() {
            return gone;
        }

        @Override
        public long unacknowledgedBytes() {
            return unacknowledged;
        }

        @Override
        public long unreadInputBytes(long bytesRead, boolean peerFinRead) {
            return unread;
        }
    }

    private final RecordingIo io = new RecordingIo();
    private final SettableKernel kernel = new SettableKernel();
    private long now = 1_000 * SECOND;

    private CloseMachine machine(ConnectionOptions options) {
        return new CloseMachine(options, io, kernel, () -> now);
    }

    /** The channel says no write is in flight any more: every step waiting for that runs. */
    private void flushed(CloseMachine machine) {
        List<CloseMachine.Step> steps = List.copyOf(io.waitingForFlush);
        io.waitingForFlush.clear();
        steps.forEach(machine::resume);
    }

    private void polled(CloseMachine machine) {
        List<CloseMachine.Step> steps = List.copyOf(io.polls);
        io.polls.clear();
        steps.forEach(machine::resume);
    }

    @Test
    void aGracefulCloseFlushesThenSendsFinThenWaitsForThePeersFinBeforeClosing() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.GRACEFUL, now + 5 * SECOND);
        assertThat(io.did).containsExactly("read to end", "FLUSHING", "flush");

        flushed(machine);
        machine.outputShutDown();
        assertThat(io.did).containsSubsequence("FIN", "FIN sent", "LINGERING").doesNotContain("close", "RST");

        assertThat(machine.inputShutdown()).isTrue();
        machine.peerFinArrived();
        assertThat(io.did).endsWith("close");
        assertThat(machine.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
        assertThat(machine.firstFin()).isEqualTo(Side.LOCAL);
        assertThat(io.deadlineNanos).isEqualTo(now + 5 * SECOND);
    }

    @Test
    void noFinGoesOutWhileAWriteIsStillInFlight() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.GRACEFUL, now + SECOND);
        io.writesInFlight = true;
        flushed(machine);
        assertThat(io.did).doesNotContain("FIN");

        io.writesInFlight = false;
        flushed(machine);
        assertThat(io.did).contains("FIN");
    }

    @Test
    void theCloseDeadlineOnlyEverMovesEarlier() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.GRACEFUL, now + 10 * SECOND);
        machine.abortOnceDelivered(now + 2 * SECOND);
        assertThat(io.deadlineNanos).isEqualTo(now + 2 * SECOND);

        machine.beginClose(CloseMode.LINGER, now + 30 * SECOND);
        machine.closeBy(now + 20 * SECOND);
        machine.closeWhenIdle(now + 40 * SECOND);
        assertThat(machine.closeDeadlineNanos()).isEqualTo(now + 2 * SECOND);

        machine.closeDeadlinePassed();
        assertThat(io.did).endsWith("RST");
        assertThat(machine.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
    }

    @Test
    void aLingerCloseOnEpollClosesOnlyOnceThePeerAcknowledgedOurFin() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.LINGER, now + SECOND);
        flushed(machine);
        machine.outputShutDown();
        assertThat(io.polls).containsExactly(CloseMachine.Step.LINGER);
        assertThat(io.did).doesNotContain("close");

        polled(machine);
        assertThat(io.did).doesNotContain("close");
        kernel.finAcknowledged = true;
        polled(machine);
        assertThat(io.did).endsWith("close");
        assertThat(machine.outcome()).isEqualTo(Outcome.FIN_SENT);
    }

    @Test
    void aLingerCloseWhereDeliveryCannotBeToldClosesRightAfterItsFin() {
        kernel.canConfirm = false;
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.LINGER, now + SECOND);
        flushed(machine);
        machine.outputShutDown();
        assertThat(io.polls).isEmpty();
        assertThat(io.did).endsWith("close");
    }

    @Test
    void aResetAtInputShutdownIsThePeersResetNotItsFin() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        kernel.gone = true;
        assertThat(machine.inputShutdown()).isFalse();
        assertThat(io.did).endsWith("close");
        assertThat(machine.outcome()).isEqualTo(Outcome.PEER_RESET);
        assertThat(machine.firstCloser()).isEqualTo(Side.PEER);
        assertThat(machine.cause()).isInstanceOf(IOException.class);
    }

    @Test
    void releaseWithResetWaitsUntilThePeerAcknowledgedEveryByteThenResets() {
        CloseMachine machine = machine(ConnectionOptions.defaults().withReleaseWithReset(true));
        assertThat(machine.inputShutdown()).isTrue();
        machine.beginClose(CloseMode.GRACEFUL, now + 60 * SECOND);
        kernel.unacknowledged = 100;
        flushed(machine);
        assertThat(io.polls).containsExactly(CloseMachine.Step.RELEASE);
        assertThat(io.deadlineNanos).as("the close timeout bounds the wait").isEqualTo(now + ConnectionOptions.DEFAULT_CLOSE_TIMEOUT.toNanos());

        kernel.unacknowledged = 0;
        polled(machine);
        assertThat(io.did).endsWith("RST").doesNotContain("FIN");
        assertThat(machine.outcome()).isEqualTo(Outcome.RELEASED_WITH_RESET);
        assertThat(machine.releasedWithReset()).isTrue();
    }

    @Test
    void releaseWithResetWhereTheSendQueueCannotBeReadSendsTheUsualFin() {
        CloseMachine machine = machine(ConnectionOptions.defaults().withReleaseWithReset(true));
        machine.inputShutdown();
        kernel.unacknowledged = -1;
        machine.beginClose(CloseMode.GRACEFUL, now + SECOND);
        flushed(machine);
        assertThat(io.did).contains("FIN").doesNotContain("RST");
        machine.outputShutDown();
        assertThat(machine.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
    }

    @Test
    void abortOnceDeliveredResetsOnlyWhenTheSendQueueIsEmpty() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        kernel.unacknowledged = 10;
        machine.abortOnceDelivered(now + SECOND);
        flushed(machine);
        assertThat(io.did).doesNotContain("RST");
        kernel.unacknowledged = 0;
        polled(machine);
        assertThat(io.did).endsWith("RST");
        assertThat(machine.outcome()).isEqualTo(Outcome.ABORTED);
    }

    @Test
    void everyPathEndsInExactlyOneCloseOfTheSocket() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.GRACEFUL, now + SECOND);
        machine.abort(Outcome.ABORTED);
        machine.peerReset(new IOException("Connection reset"));
        machine.fail(new IOException("later"));
        machine.closeDeadlinePassed();
        flushed(machine);
        machine.halfClose();

        assertThat(io.did.stream().filter(d -> d.equals("RST") || d.equals("close"))).containsExactly("RST");
        assertThat(io.did).doesNotContain("FIN");
        assertThat(machine.outcome()).as("the first decision stands").isEqualTo(Outcome.ABORTED);
    }

    @Test
    void aFinSentBehindGracesBackIsAnErrorThatResets() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        assertThat(machine.outputShutDownOutsideGrace()).isTrue();
        assertThat(io.did).endsWith("RST");
        assertThat(machine.outcome()).isEqualTo(Outcome.ERROR);
    }

    @Test
    void anOpenConnectionThatFallsSilentClosesGracefullyAndAHalfClosedOneIsReset() {
        CloseMachine open = machine(ConnectionOptions.defaults().withIdleTimeout(Duration.ofSeconds(5)));
        assertThat(open.inactivityLimitNanos()).isEqualTo(5 * SECOND);
        open.inactive();
        assertThat(open.state()).isEqualTo(ConnectionState.FLUSHING);
        assertThat(io.deadlineNanos).isEqualTo(now + ConnectionOptions.DEFAULT_CLOSE_TIMEOUT.toNanos());
        assertThat(open.inactivityLimitNanos()).as("closing: no inactivity limit").isZero();

        CloseMachine halfClosed = machine(ConnectionOptions.defaults());
        halfClosed.inputShutdown();
        assertThat(halfClosed.inactivityLimitNanos()).isEqualTo(ConnectionOptions.DEFAULT_HALF_CLOSED_TIMEOUT.toNanos());
        halfClosed.inactive();
        assertThat(halfClosed.outcome()).isEqualTo(Outcome.ABORTED_AT_DEADLINE);
    }

    @Test
    void aZeroHalfClosedTimeoutMeansNoLimit() {
        CloseMachine machine = machine(ConnectionOptions.defaults().withHalfClosedTimeout(Duration.ZERO));
        machine.inputShutdown();
        assertThat(machine.inactivityLimitNanos()).isZero();
    }

    @Test
    void closeWhenIdleWaitsForTheProtocolAndForUnreadInput() {
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.markBusy();
        machine.closeWhenIdle(now + 30 * SECOND);
        assertThat(io.did).isEmpty();
        assertThat(io.deadlineNanos).as("a busy connection is reset at the drain's deadline").isEqualTo(now + 30 * SECOND);

        kernel.unread = 12;
        machine.markIdle();
        assertThat(io.did).containsExactly("read pass");

        // The pass delivered the bytes: the protocol is busy with them, so no FIN yet.
        io.bytesIn = 12;
        kernel.unread = 0;
        machine.markBusy();
        machine.readPassDone();
        assertThat(io.did).doesNotContain("FLUSHING");

        machine.markIdle();
        assertThat(io.did).contains("FLUSHING");
    }

    @Test
    void whereUnreadInputCannotBeToldOneFruitlessReadPassMeansIdle() {
        kernel.unread = -1;
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.closeWhenIdle(now + SECOND);
        assertThat(io.did).containsExactly("read pass");
        machine.readPassDone();
        assertThat(io.did).endsWith("FLUSHING", "flush");
    }

    @Test
    void aKernelThatKeepsReportingInputNoReadDeliversIsAskedLessAndLessOften() {
        kernel.unread = 5;
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.closeWhenIdle(now + SECOND);
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            delays.add(io.readPassDelayNanos);
            machine.readPassDone();
        }
        assertThat(delays.get(0)).isEqualTo(1);
        assertThat(delays).isSorted();
        assertThat(delays.get(29)).isEqualTo(16_000_000L);
        assertThat(machine.state()).isEqualTo(ConnectionState.OPEN);
    }

    @Test
    void thePeersFinWaitingUnreadWhenWeSendOursMakesThePeerTheTimeWaitHolder() {
        kernel.peerFinWaiting = true;
        CloseMachine machine = machine(ConnectionOptions.defaults());
        machine.beginClose(CloseMode.GRACEFUL, now + SECOND);
        flushed(machine);
        machine.outputShutDown();
        machine.inputShutdown();
        machine.peerFinArrived();
        assertThat(machine.firstFin()).isEqualTo(Side.PEER);
        assertThat(machine.outcome()).isEqualTo(Outcome.FIN_BOTH_WAYS);
    }
}
