/*
 * Opens N idle connections to an echo server (each sends one byte and reads its echo), prints
 * "ready N", then waits until the server has ended every one, and prints how: "ended fin=F
 * reset=R open=O". For bench/drain-idle.sh.
 *   java bench/IdleClients.java HOST PORT N
 */
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

public class IdleClients {
    public static void main(String[] args) throws Exception {
        InetSocketAddress target = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        int n = Integer.parseInt(args[2]);
        List<SocketChannel> channels = new ArrayList<>(n);
        ByteBuffer one = ByteBuffer.allocate(1);
        for (int i = 0; i < n; i++) {
            SocketChannel channel = SocketChannel.open(target);
            channel.write(ByteBuffer.wrap(new byte[] {'x'}));
            one.clear();
            while (one.hasRemaining() && channel.read(one) >= 0) {
                // the echo
            }
            channel.configureBlocking(false);
            channels.add(channel);
        }
        System.out.println("ready " + n);
        System.out.flush();
        int fin = 0;
        int reset = 0;
        try (Selector selector = Selector.open()) {
            for (SocketChannel channel : channels) {
                channel.register(selector, SelectionKey.OP_READ);
            }
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (fin + reset < n && System.nanoTime() < deadline) {
                selector.select(1_000);
                for (SelectionKey key : selector.selectedKeys()) {
                    SocketChannel channel = (SocketChannel) key.channel();
                    one.clear();
                    try {
                        if (channel.read(one) < 0) {
                            fin++;
                            channel.close();
                        }
                    } catch (IOException e) {
                        reset++;
                        channel.close();
                    }
                }
                selector.selectedKeys().clear();
            }
        }
        System.out.println("ended fin=" + fin + " reset=" + reset + " open=" + (n - fin - reset));
        for (SocketChannel channel : channels) {
            channel.close();
        }
    }
}
