package dev.grace.cli.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.http.HttpProtocol;
import dev.grace.server.Server;
import dev.grace.server.ServerOptions;
import dev.grace.testkit.FdLeakCheck;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The routes of {@code grace server --protocol http} over HTTP/1.1 on a real socket, pipelining included. */
@ExtendWith(FdLeakCheck.class)
class RoutesTest {
    private Server server;
    private Socket socket;
    private InputStream in;

    @BeforeEach
    void start() throws IOException {
        server = Server.start(ServerOptions.defaults().withIoThreads(1), new HttpProtocol(Routes::new));
        socket = new Socket("127.0.0.1", server.localAddress().getPort());
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
    }

    @AfterEach
    void stop() throws Exception {
        socket.close();
        server.stop().get(10, TimeUnit.SECONDS);
    }

    private record Response(int status, String connection, byte[] body) {}

    private void send(byte[]... parts) throws IOException {
        for (byte[] part : parts) {
            socket.getOutputStream().write(part);
        }
    }

    private static byte[] ascii(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    private Response read() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("EOF in a response head: " + head);
            }
            head.write(b);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        int length = 0;
        String connection = null;
        for (String line : lines) {
            String lower = line.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            } else if (lower.startsWith("connection:")) {
                connection = line.substring(11).trim();
            }
        }
        return new Response(Integer.parseInt(lines[0].split(" ")[1]), connection, in.readNBytes(length));
    }

    @Test
    void pipelinedEchoesAreAnsweredInOrderAndWhole() throws IOException {
        byte[] big = new byte[200_000];
        new Random(3).nextBytes(big);
        send(ascii("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"),
                ascii("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + big.length + "\r\n\r\n"), big,
                ascii("GET /bytes/70000 HTTP/1.1\r\nHost: t\r\n\r\n"));

        assertThat(new String(read().body(), StandardCharsets.US_ASCII)).isEqualTo("hello");
        assertThat(Arrays.equals(read().body(), big)).as("the 200 kB echo, whole").isTrue();
        assertThat(read().body()).hasSize(70_000);
    }

    @Test
    void pipelinedRequestsBehindA404AreAnswered() throws IOException {
        send(ascii("GET /delay/10 HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n"));

        assertThat(read().status()).isEqualTo(200);
        assertThat(read().status()).isEqualTo(404);
        assertThat(new String(read().body(), StandardCharsets.US_ASCII)).isEqualTo("ok\n");
    }

    @Test
    void aBadEscapeOrAPlainGetOnWsIs400ThenClose() throws IOException {
        send(ascii("GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n"));
        Response response = read();

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.connection()).isEqualToIgnoringCase("close");
        assertThat(in.read()).as("FIN after the answer").isEqualTo(-1);
    }

    @Test
    void aGetOnWsThatIsNoUpgradeIs400ThenClose() throws IOException {
        send(ascii("GET /ws HTTP/1.1\r\nHost: t\r\n\r\n"));
        Response response = read();

        assertThat(response.status()).isEqualTo(400);
        assertThat(in.read()).isEqualTo(-1);
    }

    @Test
    void aBodyOverOneMebibyteWhereNoneIsStreamedIs413ThenClose() throws IOException {
        send(ascii("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n"), new byte[100_000]);
        Response response = read();

        assertThat(response.status()).isEqualTo(413);
        assertThat(response.connection()).isEqualToIgnoringCase("close");
    }
}
