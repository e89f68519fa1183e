/*
 * The load of the restart benchmark (bench/restart.sh): CHURN loops of connect / 64 B / read the
 * echo / close, and PINGPONG busy clients that each hold a connection for about a second of
 * 64-byte exchanges every 10 ms, then half-close, read to the end and connect again. Everything
 * is counted from the client's side:
 *   refused   a connect that failed (refused, or reset during the handshake)
 *   reset     a connection that succeeded and then met a reset
 *   lost      bytes sent on an established connection whose echo never came back (a FIN or
 *             a reset before it)
 *   slow      connects that took over 500 ms (a dropped SYN, retransmitted a second later)
 * A server's FIN between two exchanges (nothing owed) is a goodbye, not a loss: the client
 * reconnects. Loopback only; bounded by SECONDS.
 * Prints "started N clients" once they run, then one RESTART line of counts at the end.
 *   java bench/RestartLoad.java PORT SECONDS [CHURN] [PINGPONG]
 */
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

public class RestartLoad {
    static final int MESSAGE = 64;
    static final AtomicLong churnServed = new AtomicLong();
    static final AtomicLong sessions = new AtomicLong();
    static final AtomicLong exchanges = new AtomicLong();
    static final AtomicLong refused = new AtomicLong();
    static final AtomicLong reset = new AtomicLong();
    static final AtomicLong lost = new AtomicLong();
    static final AtomicLong slow = new AtomicLong();
    static final AtomicLong goodbyes = new AtomicLong();
    static final List<String> firstFailures = java.util.Collections.synchronizedList(new ArrayList<>());

    public static void main(String[] args) throws Exception {
        InetSocketAddress target = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0]));
        long endNanos = System.nanoTime() + (long) (Double.parseDouble(args[1]) * 1e9);
        int churn = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        int pingPong = args.length > 3 ? Integer.parseInt(args[3]) : 50;
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < churn; i++) {
            threads.add(new Thread(() -> churn(target, endNanos), "churn-" + i));
        }
        for (int i = 0; i < pingPong; i++) {
            threads.add(new Thread(() -> pingPong(target, endNanos), "ping-pong-" + i));
        }
        threads.forEach(Thread::start);
        System.out.println("started " + threads.size() + " clients");
        System.out.flush();
        for (Thread thread : threads) {
            thread.join();
        }
        System.out.printf("RESTART churn_served=%d sessions=%d exchanges=%d refused=%d reset=%d lost=%d slow=%d goodbyes=%d%n",
                churnServed.get(), sessions.get(), exchanges.get(), refused.get(), reset.get(), lost.get(), slow.get(), goodbyes.get());
        firstFailures.stream().limit(5).forEach(failure -> System.out.println("failure: " + failure));
    }

    static Socket connect(InetSocketAddress target) {
        long started = System.nanoTime();
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(target, 5_000);
            socket.setSoTimeout(5_000);
        } catch (IOException e) {
            close(socket);
            refused.incrementAndGet();
            note("connect: " + e);
            if (!(e instanceof ConnectException)) {
                return null;
            }
            pause(1);
            return null;
        }
        if (System.nanoTime() - started > 500_000_000L) {
            slow.incrementAndGet();
        }
        return socket;
    }

    static void churn(InetSocketAddress target, long endNanos) {
        byte[] message = new byte[MESSAGE];
        while (System.nanoTime() < endNanos) {
            Socket socket = connect(target);
            if (socket == null) {
                continue;
            }
            try (socket) {
                socket.getOutputStream().write(message);
                int got = readFully(socket.getInputStream(), MESSAGE);
                if (got < MESSAGE) {
                    lost.addAndGet(MESSAGE - got);
                    note("churn: FIN after " + got + " of " + MESSAGE + " bytes");
                } else {
                    churnServed.incrementAndGet();
                }
            } catch (IOException e) {
                reset.incrementAndGet();
                note("churn: " + e);
            }
        }
    }

    static void pingPong(InetSocketAddress target, long endNanos) {
        byte[] message = new byte[MESSAGE];
        while (System.nanoTime() < endNanos) {
            Socket socket = connect(target);
            if (socket == null) {
                continue;
            }
            sessions.incrementAndGet();
            long sessionEnd = Math.min(endNanos, System.nanoTime() + ThreadLocalRandom.current().nextLong(500_000_000L, 1_500_000_000L));
            int owed = 0;
            try (socket) {
                InputStream in = socket.getInputStream();
                boolean serverSaidGoodbye = false;
                while (System.nanoTime() < sessionEnd) {
                    if (closedByServer(socket)) {
                        serverSaidGoodbye = true;
                        goodbyes.incrementAndGet();
                        break;
                    }
                    owed = MESSAGE;
                    socket.getOutputStream().write(message);
                    int got = readFully(in, MESSAGE);
                    owed = 0;
                    if (got < MESSAGE) {
                        lost.addAndGet(MESSAGE - got);
                        note("ping-pong: FIN after " + got + " of " + MESSAGE + " bytes");
                        serverSaidGoodbye = true;
                        break;
                    }
                    exchanges.incrementAndGet();
                    pause(10);
                }
                if (!serverSaidGoodbye) {
                    socket.shutdownOutput();
                    socket.setSoTimeout(5_000);
                    if (in.read() != -1) {
                        note("ping-pong: bytes after our FIN");
                    }
                }
            } catch (IOException e) {
                reset.incrementAndGet();
                lost.addAndGet(owed);
                note("ping-pong: " + e);
            }
        }
    }

    /** True when the server's FIN is already here (nothing else can be: nothing is owed). */
    static boolean closedByServer(Socket socket) throws IOException {
        socket.setSoTimeout(1);
        try {
            return socket.getInputStream().read() == -1;
        } catch (SocketTimeoutException quiet) {
            return false;
        } finally {
            socket.setSoTimeout(5_000);
        }
    }

    static int readFully(InputStream in, int n) throws IOException {
        int got = 0;
        byte[] buffer = new byte[n];
        while (got < n) {
            int read = in.read(buffer, got, n - got);
            if (read < 0) {
                break;
            }
            got += read;
        }
        return got;
    }

    static void note(String failure) {
        if (firstFailures.size() < 20) {
            firstFailures.add(failure);
        }
    }

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void close(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
