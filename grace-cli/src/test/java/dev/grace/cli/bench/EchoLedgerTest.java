package dev.grace.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What counts as a data mismatch, decided from the bytes alone: no sockets. */
class EchoLedgerTest {
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private ByteBuf sent;

    @AfterEach
    void release() {
        if (sent != null) {
            sent.release();
        }
    }

    @Test
    void anEchoOfWhatWasSentIsRightEvenInPieces() {
        EchoLedger ledger = new EchoLedger(3, 64);
        sent = ledger.nextChunk(alloc);

        assertThat(ledger.echoed(sent.retainedSlice(0, 10))).isNull();
        assertThat(ledger.allEchoed()).isFalse();
        assertThat(ledger.echoed(sent.retainedSlice(10, 54))).isNull();
        assertThat(ledger.allEchoed()).isTrue();
        assertThat(ledger.finArrived()).isNull();
    }

    @Test
    void aWrongByteIsAMismatchNamingTheConnectionAndTheOffset() {
        EchoLedger ledger = new EchoLedger(7, 64);
        sent = ledger.nextChunk(alloc);
        ledger.nextChunk(alloc).release();
        ByteBuf echo = sent.copy();
        echo.setByte(40, echo.getByte(40) ^ 0xff);

        assertThat(ledger.echoed(sent.retainedSlice(0, 20))).isNull();
        assertThat(ledger.echoed(echo.slice(20, 44))).isEqualTo("data mismatch on connection 7 at byte 40");
        echo.release();
    }

    @Test
    void anotherConnectionsBytesAreAMismatchAtTheFirstByteThatDiffers() {
        EchoLedger ours = new EchoLedger(0, 16);
        EchoLedger theirs = new EchoLedger(1, 16);
        ours.nextChunk(alloc).release();
        sent = theirs.nextChunk(alloc);

        assertThat(ours.echoed(sent)).startsWith("data mismatch on connection 0 at byte ");
    }

    @Test
    void moreBackThanWasSentIsAMismatchAtTheEndOfWhatWasSent() {
        EchoLedger ledger = new EchoLedger(0, 8);
        sent = ledger.nextChunk(alloc);
        ByteBuf twice = Unpooled.buffer(16);
        Pattern.fill(twice, 0, 0, 16);

        assertThat(ledger.echoed(twice)).isEqualTo("data mismatch on connection 0 at byte 8");
        twice.release();
    }

    @Test
    void aFinWithEchoStillOwedIsAMismatchAtTheFirstByteThatNeverCameBack() {
        EchoLedger ledger = new EchoLedger(2, 150);
        sent = ledger.nextChunk(alloc);
        ledger.echoed(sent.retainedSlice(0, 100));

        assertThat(ledger.finArrived()).isEqualTo("data mismatch on connection 2 at byte 100: the server's FIN came after 100 of 150 bytes");
    }

    @Test
    void checkingAnEchoLeavesItsBufferAsItWas() {
        EchoLedger ledger = new EchoLedger(0, 32);
        sent = ledger.nextChunk(alloc);

        ledger.echoed(sent);

        assertThat(sent.readableBytes()).isEqualTo(32);
        assertThat(sent.refCnt()).isEqualTo(1);
    }
}
